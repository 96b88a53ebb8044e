using System.Text.Json;

namespace Gateway.Core.Sse;

/// <summary>
/// Classifies an OpenAI <c>chat.completion.chunk</c> SSE frame without parsing it unless it
/// carries usage: a byte search rules out almost every frame.
/// </summary>
public static class OpenAiFrameInspector
{
    public static OpenAiFrameKind Inspect(ReadOnlySpan<byte> frame, out TokenUsage usage)
    {
        usage = default;
        if (!frame.StartsWith("data:"u8)) return OpenAiFrameKind.Other;
        var payload = frame[5..];
        if (!payload.IsEmpty && payload[0] == (byte)' ') payload = payload[1..];
        if (payload.StartsWith("[DONE]"u8)) return OpenAiFrameKind.Done;

        int at = payload.IndexOf("\"usage\":"u8);
        if (at < 0) return OpenAiFrameKind.Other;
        var after = payload[(at + 8)..].TrimStart(" \t"u8);
        if (after.IsEmpty || after[0] != (byte)'{') return OpenAiFrameKind.Other; // "usage": null

        int lineEnd = payload.IndexOfAny((byte)'\r', (byte)'\n');
        var json = lineEnd < 0 ? payload : payload[..lineEnd];
        return ParseUsageChunk(json, out usage);
    }

    private static OpenAiFrameKind ParseUsageChunk(ReadOnlySpan<byte> json, out TokenUsage usage)
    {
        usage = default;
        bool choicesEmpty = false, sawUsage = false;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return OpenAiFrameKind.Other;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("choices"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartArray)
                    {
                        reader.Read();
                        choicesEmpty = reader.TokenType == JsonTokenType.EndArray;
                        if (!choicesEmpty) SkipRestOfArray(ref reader);
                    }
                    else reader.Skip();
                }
                else if (reader.ValueTextEquals("usage"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        usage = ReadUsage(ref reader);
                        sawUsage = true;
                    }
                    else reader.Skip();
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            return OpenAiFrameKind.Other; // not ours to judge: the frame is forwarded as it came
        }
        if (!sawUsage) return OpenAiFrameKind.Other;
        return choicesEmpty ? OpenAiFrameKind.UsageOnly : OpenAiFrameKind.ChunkWithUsage;
    }

    private static void SkipRestOfArray(ref Utf8JsonReader reader)
    {
        // positioned on the first element
        reader.Skip();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray) reader.Skip();
    }

    /// <summary>Reads an OpenAI <c>usage</c> object; the reader is on its start and ends on its end.</summary>
    internal static TokenUsage ReadUsage(ref Utf8JsonReader reader)
    {
        int prompt = 0, completion = 0, total = 0, cached = 0, reasoning = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("prompt_tokens"u8)) prompt = ReadInt(ref reader);
            else if (reader.ValueTextEquals("completion_tokens"u8)) completion = ReadInt(ref reader);
            else if (reader.ValueTextEquals("total_tokens"u8)) total = ReadInt(ref reader);
            else if (reader.ValueTextEquals("prompt_tokens_details"u8)) cached = ReadNested(ref reader, "cached_tokens"u8);
            else if (reader.ValueTextEquals("completion_tokens_details"u8)) reasoning = ReadNested(ref reader, "reasoning_tokens"u8);
            else { reader.Read(); reader.Skip(); }
        }
        return new TokenUsage(prompt, completion, total == 0 ? prompt + completion : total, cached, reasoning);
    }

    private static int ReadInt(ref Utf8JsonReader reader)
    {
        reader.Read();
        return reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int v) ? v : 0;
    }

    private static int ReadNested(ref Utf8JsonReader reader, ReadOnlySpan<byte> name)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject) { reader.Skip(); return 0; }
        int value = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals(name)) value = ReadInt(ref reader);
            else { reader.Read(); reader.Skip(); }
        }
        return value;
    }
}
