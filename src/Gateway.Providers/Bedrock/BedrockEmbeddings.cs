using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json;
using Gateway.Core.Errors;

namespace Gateway.Providers.Bedrock;

/// <summary>
/// OpenAI embeddings on Bedrock's InvokeModel: Amazon Titan (<c>amazon.titan-embed-*</c>, one text a
/// call) and Cohere (<c>cohere.embed-*</c>, a batch a call). Vectors come back in OpenAI's shape.
/// </summary>
public static class BedrockEmbeddings
{
    public enum Family { Titan, Cohere }

    public static Family? FamilyOf(string model) =>
        model.Contains("titan-embed", StringComparison.Ordinal) ? Family.Titan
        : model.Contains("cohere.embed", StringComparison.Ordinal) ? Family.Cohere
        : null;

    /// <summary>The input texts, the requested dimensions and encoding, or a 400.</summary>
    public static GatewayError? ReadRequest(ReadOnlyMemory<byte> openAiBody, out List<string> texts, out int? dimensions, out bool base64)
    {
        try
        {
            return ReadRequestUnguarded(openAiBody, out texts, out dimensions, out base64);
        }
        catch (Exception ex) when (Http.JsonShape.IsMismatch(ex))
        {
            (texts, dimensions, base64) = ([], null, false);
            return Http.JsonShape.InvalidRequest(ex);
        }
    }

    private static GatewayError? ReadRequestUnguarded(ReadOnlyMemory<byte> openAiBody, out List<string> texts, out int? dimensions, out bool base64)
    {
        using var document = JsonDocument.Parse(openAiBody);
        var root = document.RootElement;
        texts = [];
        base64 = root.TryGetProperty("encoding_format", out var format) && format.ValueEquals("base64"u8);
        dimensions = root.TryGetProperty("dimensions", out var d) && d.ValueKind == JsonValueKind.Number ? d.GetInt32() : null;
        var input = root.GetProperty("input");
        if (input.ValueKind == JsonValueKind.String) texts.Add(input.GetString()!);
        else if (input.ValueKind == JsonValueKind.Array)
            foreach (var item in input.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String)
                    return GatewayError.BadRequest("'input': Bedrock embedding models take text; token arrays cannot be sent to them.", "unsupported_input");
                texts.Add(item.GetString()!);
            }
        return texts.Count == 0 ? GatewayError.BadRequest("'input' must not be empty.", "invalid_input") : null;
    }

    public static byte[] TitanRequest(string text, int? dimensions)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("inputText"u8, text);
            if (dimensions is { } dims) w.WriteNumber("dimensions"u8, dims);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] CohereRequest(IReadOnlyList<string> texts)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("texts"u8);
            foreach (var t in texts) w.WriteStringValue(t);
            w.WriteEndArray();
            w.WriteString("input_type"u8, "search_document"u8);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Titan: <c>{"embedding":[...],"inputTextTokenCount":n}</c>. Cohere: <c>{"embeddings":[[...],...]}</c>.</summary>
    public static (List<float[]> Vectors, int Tokens) ReadVectors(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        var vectors = new List<float[]>();
        if (root.TryGetProperty("embedding", out var one)) vectors.Add(one.EnumerateArray().Select(v => v.GetSingle()).ToArray());
        else if (root.TryGetProperty("embeddings", out var many) && many.ValueKind == JsonValueKind.Array)
            foreach (var v in many.EnumerateArray()) vectors.Add(v.EnumerateArray().Select(x => x.GetSingle()).ToArray());
        int tokens = root.TryGetProperty("inputTextTokenCount", out var t) && t.TryGetInt32(out int n) ? n : 0;
        return (vectors, tokens);
    }

    public static byte[] OpenAIResponse(IReadOnlyList<float[]> vectors, int tokens, string model, bool base64)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("object"u8, "list"u8);
            w.WriteStartArray("data"u8);
            for (int i = 0; i < vectors.Count; i++)
            {
                w.WriteStartObject();
                w.WriteString("object"u8, "embedding"u8);
                w.WriteNumber("index"u8, i);
                if (base64)
                {
                    var bytes = new byte[vectors[i].Length * 4];
                    for (int j = 0; j < vectors[i].Length; j++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(j * 4), vectors[i][j]);
                    w.WriteBase64String("embedding"u8, bytes);
                }
                else
                {
                    w.WriteStartArray("embedding"u8);
                    foreach (float f in vectors[i]) w.WriteNumberValue(f);
                    w.WriteEndArray();
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteString("model"u8, model);
            w.WriteStartObject("usage"u8);
            w.WriteNumber("prompt_tokens"u8, tokens);
            w.WriteNumber("total_tokens"u8, tokens);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
