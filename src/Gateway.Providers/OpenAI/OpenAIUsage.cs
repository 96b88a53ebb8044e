using System.Text.Json;
using Gateway.Core.Protocol;

namespace Gateway.Providers.OpenAI;

/// <summary>The OpenAI <c>usage</c> property every translator writes.</summary>
internal static class OpenAIUsage
{
    public static void Write(Utf8JsonWriter w, Usage usage)
    {
        w.WritePropertyName("usage"u8);
        JsonSerializer.Serialize(w, usage, ProtocolJson.Default.Usage);
    }
}
