using System.Text;
using Gateway.Core.Errors;
using Gateway.Core.Protocol;

namespace Gateway.Providers.Tests;

/// <summary>Runs a request translator the way the providers do: OpenAI JSON read into the canonical types first.</summary>
internal static class Canonical
{
    public static GatewayError? Translate(string openAiJson, Func<ChatRequest, GatewayError?> translate) =>
        ProtocolReader.ReadRequest(Encoding.UTF8.GetBytes(openAiJson), out var request) ?? translate(request);
}
