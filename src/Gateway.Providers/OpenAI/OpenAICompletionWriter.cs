using System.Buffers;
using System.Text.Json;
using Gateway.Core.Protocol;

namespace Gateway.Providers.OpenAI;

/// <summary>Writes canonical answers in OpenAI's wire format for the translators of non-OpenAI answers.</summary>
internal static class OpenAICompletionWriter
{
    public static void Write(IBufferWriter<byte> output, ChatCompletion completion)
    {
        using var w = new Utf8JsonWriter(output);
        JsonSerializer.Serialize(w, completion, ProtocolJson.Default.ChatCompletion);
    }
}
