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
        int at = answer.LastIndexOf("\"usage\""u8);
        // A cheap no before any reading: most answers that lack usage lack the word.
        if (at < 0) return false;
        return TryReadLast(answer, at, out usage) || TryScan(answer, out usage);
    }

    /// <summary>
    /// The usual case, without reading what comes before: the last <c>"usage"</c> (OpenAI puts it near
    /// the end) holds an object, and what follows it closes exactly one level, the top one. Quotes inside
    /// strings are escaped, so the bytes <c>"usage"</c> are a property name; nothing after it closing a
    /// parent before the last brace makes it a top-level one.
    /// </summary>
    private static bool TryReadLast(ReadOnlySpan<byte> answer, int at, out TokenUsage usage)
    {
        usage = default;
        var rest = answer[(at + 7)..].TrimStart(" \t\r\n"u8);
        if (rest.IsEmpty || rest[0] != (byte)':') return false;
        rest = rest[1..].TrimStart(" \t\r\n"u8);
        if (rest.IsEmpty || rest[0] != (byte)'{' || answer.TrimStart(" \t\r\n"u8) is not [(byte)'{', ..]) return false;
        try
        {
            var reader = new Utf8JsonReader(rest);
            reader.Read();
            var read = OpenAiFrameInspector.ReadUsage(ref reader);
            if (reader.TokenType != JsonTokenType.EndObject) return false;
            if (!ClosesTheTopLevel(rest[(int)reader.BytesConsumed..])) return false;
            usage = read;
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// Whether <paramref name="tail"/> (what follows a property's value) holds only more properties of
    /// the same object and then that object's closing brace, ending the document.
    /// </summary>
    private static bool ClosesTheTopLevel(ReadOnlySpan<byte> tail)
    {
        int depth = 0;
        bool inString = false;
        for (int i = 0; i < tail.Length; i++)
        {
            byte b = tail[i];
            if (inString)
            {
                if (b == (byte)'\\') i++;
                else if (b == (byte)'"') inString = false;
                continue;
            }
            switch (b)
            {
                case (byte)'"': inString = true; break;
                case (byte)'{' or (byte)'[': depth++; break;
                case (byte)'}' or (byte)']':
                    if (--depth < 0) return tail[(i + 1)..].Trim(" \t\r\n"u8).IsEmpty;
                    break;
            }
        }
        return false;
    }

    /// <summary>Anywhere at the top level: a forward scan that skips every other value.</summary>
    private static bool TryScan(ReadOnlySpan<byte> answer, out TokenUsage usage)
    {
        usage = default;
        if (!TryFindTopLevelObject(answer, "usage"u8, out var found)) return false;
        var reader = new Utf8JsonReader(found);
        reader.Read();
        usage = OpenAiFrameInspector.ReadUsage(ref reader);
        return true;
    }

    /// <summary>
    /// The object a top-level property holds (its bytes, braces included), found by a forward scan that
    /// skips every other value without building anything; false when there is none or the JSON breaks first.
    /// </summary>
    public static bool TryFindTopLevelObject(ReadOnlySpan<byte> json, ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        value = default;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool match = reader.ValueTextEquals(name);
                reader.Read();
                if (match && reader.TokenType == JsonTokenType.StartObject)
                {
                    int start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    value = json[start..(int)reader.BytesConsumed];
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
