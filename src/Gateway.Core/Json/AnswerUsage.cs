using System.Text.Json;
using Gateway.Core.Sse;

namespace Gateway.Core.Json;

/// <summary>
/// The <c>usage</c> of a whole OpenAI-shaped answer (a chat completion or an embeddings list), read by
/// a forward scan: the reader skips every other top-level value without building anything.
/// </summary>
public static class AnswerUsage
{
    public static bool TryRead(ReadOnlySpan<byte> answer, out TokenUsage usage)
    {
        usage = default;
        // A cheap no before any reading: most answers that lack usage lack the word.
        if (answer.IndexOf("\"usage\""u8) < 0) return false;
        try
        {
            var reader = new Utf8JsonReader(answer);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isUsage = reader.ValueTextEquals("usage"u8);
                reader.Read();
                if (isUsage && reader.TokenType == JsonTokenType.StartObject)
                {
                    usage = OpenAiFrameInspector.ReadUsage(ref reader);
                    return true;
                }
                reader.Skip();
            }
        }
        catch (JsonException)
        {
            // Not ours to judge: the answer goes to the client as it came, uncounted.
        }
        return false;
    }
}
