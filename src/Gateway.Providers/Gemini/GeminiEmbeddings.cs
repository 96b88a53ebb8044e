using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json;
using Gateway.Core.Errors;

namespace Gateway.Providers.Gemini;

/// <summary>OpenAI embeddings requests as Gemini <c>batchEmbedContents</c>, and the vectors back in OpenAI's shape.</summary>
public static class GeminiEmbeddings
{
    /// <returns>null on success; <paramref name="base64"/> says how the client wants the vectors.</returns>
    public static GatewayError? TranslateRequest(ReadOnlyMemory<byte> openAiBody, string model, IBufferWriter<byte> output, out bool base64)
    {
        try
        {
            return TranslateRequestUnguarded(openAiBody, model, output, out base64);
        }
        catch (Exception ex) when (Http.JsonShape.IsMismatch(ex))
        {
            base64 = false;
            return Http.JsonShape.InvalidRequest(ex);
        }
    }

    private static GatewayError? TranslateRequestUnguarded(ReadOnlyMemory<byte> openAiBody, string model, IBufferWriter<byte> output, out bool base64)
    {
        using var document = JsonDocument.Parse(openAiBody);
        var root = document.RootElement;
        base64 = root.TryGetProperty("encoding_format", out var format) && format.ValueEquals("base64"u8);
        var input = root.GetProperty("input");
        var texts = new List<string>();
        if (input.ValueKind == JsonValueKind.String) texts.Add(input.GetString()!);
        else if (input.ValueKind == JsonValueKind.Array)
            foreach (var item in input.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String)
                    return GatewayError.BadRequest("'input': Gemini embeds text; token arrays cannot be sent to it.", "unsupported_input");
                texts.Add(item.GetString()!);
            }
        if (texts.Count == 0 || texts.Any(t => t.Length == 0))
            return GatewayError.BadRequest("'input' must be a non-empty string or array of non-empty strings.", "invalid_input");
        int? dimensions = root.TryGetProperty("dimensions", out var d) && d.ValueKind == JsonValueKind.Number ? d.GetInt32() : null;

        using var w = new Utf8JsonWriter(output);
        w.WriteStartObject();
        w.WriteStartArray("requests"u8);
        foreach (var text in texts)
        {
            w.WriteStartObject();
            w.WriteString("model"u8, "models/" + model);
            w.WriteStartObject("content"u8);
            w.WriteStartArray("parts"u8);
            w.WriteStartObject();
            w.WriteString("text"u8, text);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
            if (dimensions is { } dims) w.WriteNumber("outputDimensionality"u8, dims);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        return null;
    }

    public static GatewayError? TranslateResponse(ReadOnlySpan<byte> geminiBody, string model, bool base64, IBufferWriter<byte> output)
    {
        try
        {
            return TranslateResponseUnguarded(geminiBody, model, base64, output);
        }
        catch (Exception ex) when (Http.JsonShape.IsMismatch(ex))
        {
            return Http.JsonShape.InvalidAnswer(ex);
        }
    }

    private static GatewayError? TranslateResponseUnguarded(ReadOnlySpan<byte> geminiBody, string model, bool base64, IBufferWriter<byte> output)
    {
        var reader = new Utf8JsonReader(geminiBody);
        using var document = JsonDocument.ParseValue(ref reader);
        if (!document.RootElement.TryGetProperty("embeddings", out var embeddings) || embeddings.ValueKind != JsonValueKind.Array)
            return new GatewayError(502, "upstream_error", "upstream_invalid_response", "The provider's answer has no embeddings.", ErrorSource.Upstream);
        using var w = new Utf8JsonWriter(output);
        w.WriteStartObject();
        w.WriteString("object"u8, "list"u8);
        w.WriteStartArray("data"u8);
        int index = 0;
        foreach (var embedding in embeddings.EnumerateArray())
        {
            w.WriteStartObject();
            w.WriteString("object"u8, "embedding"u8);
            w.WriteNumber("index"u8, index++);
            var values = embedding.GetProperty("values");
            if (base64)
            {
                // OpenAI's base64 form: little-endian float32, as the SDKs decode it.
                var bytes = new byte[values.GetArrayLength() * 4];
                int i = 0;
                foreach (var v in values.EnumerateArray()) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i++), v.GetSingle());
                w.WriteBase64String("embedding"u8, bytes);
            }
            else
            {
                w.WritePropertyName("embedding"u8);
                values.WriteTo(w);
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteString("model"u8, model);
        // Gemini reports no token counts for embeddings.
        w.WriteStartObject("usage"u8);
        w.WriteNumber("prompt_tokens"u8, 0);
        w.WriteNumber("total_tokens"u8, 0);
        w.WriteEndObject();
        w.WriteEndObject();
        return null;
    }
}
