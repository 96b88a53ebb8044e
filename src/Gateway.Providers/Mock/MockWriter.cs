using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json;
using Gateway.Core.Protocol;
using Gateway.Providers.OpenAI;

namespace Gateway.Providers.Mock;

/// <summary>The mock's answers, written in the OpenAI wire format.</summary>
internal static class MockWriter
{
    public static byte[] Completion(string id, long created, string model, string content, string finish, int promptTokens, int completionTokens)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        OpenAICompletionWriter.Write(buffer, ChatCompletion.Single(id, created, model, ChatMessage.FromAssistant(content, null, null), finish, Usage.Of(promptTokens, completionTokens)));
        return buffer.WrittenSpan.ToArray();
    }

    public static void Chunk(Utf8JsonWriter w, string id, long created, string model, bool role, string? content, string? finish)
    {
        WriteChunkHeader(w, id, created, model);
        w.WriteStartArray("choices"u8);
        w.WriteStartObject();
        w.WriteNumber("index"u8, 0);
        w.WriteStartObject("delta"u8);
        if (role) w.WriteString("role"u8, "assistant"u8);
        if (content is not null) w.WriteString("content"u8, content);
        w.WriteEndObject();
        w.WriteNull("logprobs"u8);
        if (finish is null) w.WriteNull("finish_reason"u8);
        else w.WriteString("finish_reason"u8, finish);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
    }

    public static void UsageChunk(Utf8JsonWriter w, string id, long created, string model, int promptTokens, int completionTokens)
    {
        WriteChunkHeader(w, id, created, model);
        w.WriteStartArray("choices"u8);
        w.WriteEndArray();
        OpenAIUsage.Write(w, Usage.Of(promptTokens, completionTokens));
        w.WriteEndObject();
    }

    public static byte[] Embeddings(string model, MockRequest request)
    {
        int dims = request.Dimensions is > 0 and <= 8192 ? request.Dimensions.Value : 16;
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("object"u8, "list"u8);
            w.WriteStartArray("data"u8);
            var vector = new float[dims];
            for (int i = 0; i < request.Inputs.Count; i++)
            {
                Fill(vector, request.Inputs[i]);
                w.WriteStartObject();
                w.WriteString("object"u8, "embedding"u8);
                w.WriteNumber("index"u8, i);
                if (request.Base64)
                {
                    var bytes = new byte[dims * 4];
                    for (int d = 0; d < dims; d++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(d * 4), vector[d]);
                    w.WriteBase64String("embedding"u8, bytes);
                }
                else
                {
                    w.WriteStartArray("embedding"u8);
                    foreach (float f in vector) w.WriteNumberValue(f);
                    w.WriteEndArray();
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteString("model"u8, model);
            w.WriteStartObject("usage"u8);
            w.WriteNumber("prompt_tokens"u8, request.PromptTokens);
            w.WriteNumber("total_tokens"u8, request.PromptTokens);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A unit vector seeded by the text: the same text always gives the same vector.</summary>
    private static void Fill(float[] vector, string text)
    {
        uint seed = 2166136261;
        foreach (char c in text) seed = (seed ^ c) * 16777619;
        double norm = 0;
        for (int i = 0; i < vector.Length; i++)
        {
            seed ^= seed << 13; seed ^= seed >> 17; seed ^= seed << 5;
            vector[i] = (seed / (float)uint.MaxValue) - 0.5f;
            norm += vector[i] * vector[i];
        }
        float scale = norm > 0 ? (float)(1 / Math.Sqrt(norm)) : 0;
        for (int i = 0; i < vector.Length; i++) vector[i] *= scale;
    }

    private static void WriteChunkHeader(Utf8JsonWriter w, string id, long created, string model)
    {
        w.WriteStartObject();
        w.WriteString("id"u8, id);
        w.WriteString("object"u8, "chat.completion.chunk"u8);
        w.WriteNumber("created"u8, created);
        w.WriteString("model"u8, model);
    }
}
