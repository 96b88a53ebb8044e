using System.Buffers;
using System.Text.Json;
using Gateway.Providers.Http;

namespace Gateway.Providers.Gemini;

/// <summary>
/// Gemini's <c>streamGenerateContent?alt=sse</c> chunks as OpenAI chunks. Gemini repeats the
/// cumulative <c>usageMetadata</c> on every chunk (only the last one counts) and has no end marker:
/// the finish chunk, usage and <c>[DONE]</c> are written when the upstream closes after a
/// <c>finishReason</c>. A <c>MALFORMED_FUNCTION_CALL</c> ends the stream as an error.
/// </summary>
public sealed class GeminiUpstreamStream(string model, long created, bool includeUsage, string provider) : IStreamTranslator
{
    private readonly ArrayBufferWriter<byte> _json = new(512);
    private readonly ArrayBufferWriter<byte> _usage = new(256);
    private string _id = "chatcmpl-" + Guid.NewGuid().ToString("N");
    private bool _started;
    private int _toolCalls;
    private string? _finishReason;

    public bool Completed { get; private set; }
    public string? Error { get; private set; }

    public void OnFrame(ReadOnlySpan<byte> frame, IBufferWriter<byte> output)
    {
        if (!frame.StartsWith("data:"u8)) return;
        var payload = frame[5..].Trim(" \r\n"u8);
        if (payload.IsEmpty) return;
        var reader = new Utf8JsonReader(payload);
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        if (root.TryGetProperty("error", out var error))
        {
            Error = error.TryGetProperty("message", out var m) ? m.GetString() : "stream error";
            return;
        }
        if (!_started)
        {
            _started = true;
            if (root.TryGetProperty("responseId", out var rid)) _id = "chatcmpl-" + rid.GetString();
            Chunk(output, w =>
            {
                w.WriteStartObject("delta"u8);
                w.WriteString("role"u8, "assistant"u8);
                w.WriteString("content"u8, ""u8);
                w.WriteEndObject();
            }, null);
        }
        if (root.TryGetProperty("usageMetadata", out var usage))
        {
            _usage.ResetWrittenCount();
            using var uw = new Utf8JsonWriter(_usage);
            uw.WriteStartObject();
            GeminiUpstreamResponse.WriteUsage(uw, usage);
            uw.WriteEndObject();
        }
        if (!root.TryGetProperty("candidates", out var candidates) || candidates.ValueKind != JsonValueKind.Array || candidates.GetArrayLength() == 0) return;
        var candidate = candidates[0];
        if (candidate.TryGetProperty("content", out var content) && content.TryGetProperty("parts", out var parts))
            foreach (var part in parts.EnumerateArray())
            {
                if (part.TryGetProperty("thought", out var thought) && thought.ValueKind == JsonValueKind.True) continue;
                if (part.TryGetProperty("text", out var t) && t.GetString() is { Length: > 0 } text)
                    Chunk(output, w =>
                    {
                        w.WriteStartObject("delta"u8);
                        w.WriteString("content"u8, text);
                        w.WriteEndObject();
                    }, null);
                if (part.TryGetProperty("functionCall", out var call))
                {
                    int index = _toolCalls++;
                    string id = GeminiToolIds.Create(index, part.TryGetProperty("thoughtSignature", out var sig) ? sig.GetString() : null);
                    string name = call.GetProperty("name").GetString()!;
                    string args = call.TryGetProperty("args", out var a) ? a.GetRawText() : "{}";
                    // Gemini sends a call whole: one delta with id, name and the complete arguments.
                    Chunk(output, w =>
                    {
                        w.WriteStartObject("delta"u8);
                        w.WriteStartArray("tool_calls"u8);
                        w.WriteStartObject();
                        w.WriteNumber("index"u8, index);
                        w.WriteString("id"u8, id);
                        w.WriteString("type"u8, "function"u8);
                        w.WriteStartObject("function"u8);
                        w.WriteString("name"u8, name);
                        w.WriteString("arguments"u8, args);
                        w.WriteEndObject();
                        w.WriteEndObject();
                        w.WriteEndArray();
                        w.WriteEndObject();
                    }, null);
                }
            }
        if (candidate.TryGetProperty("finishReason", out var finish) && finish.ValueKind == JsonValueKind.String)
        {
            string reason = finish.GetString()!;
            _finishReason = GeminiUpstreamResponse.FinishReason(reason, _toolCalls > 0);
            if (_finishReason is null) Error = GeminiUpstreamResponse.MalformedCall(provider, reason).Message;
        }
    }

    public void OnEnd(IBufferWriter<byte> output)
    {
        if (Completed || _finishReason is null || Error is not null) return; // no finishReason: a cut-off stream
        Chunk(output, w =>
        {
            w.WriteStartObject("delta"u8);
            w.WriteEndObject();
        }, _finishReason);
        if (includeUsage && _usage.WrittenCount > 0)
        {
            // _usage holds {"usage":{...}}: splice its members after the chunk header.
            var usageMembers = _usage.WrittenSpan[1..^1].ToArray();
            Frame(output, w =>
            {
                w.WriteStartArray("choices"u8);
                w.WriteEndArray();
                w.WritePropertyName("usage"u8);
                w.WriteRawValue(usageMembers.AsSpan("\"usage\":"u8.Length), skipInputValidation: true);
            });
        }
        output.Write("data: [DONE]\n\n"u8);
        Completed = true;
    }

    private void Chunk(IBufferWriter<byte> output, Action<Utf8JsonWriter> delta, string? finish) => Frame(output, w =>
    {
        w.WriteStartArray("choices"u8);
        w.WriteStartObject();
        w.WriteNumber("index"u8, 0);
        delta(w);
        w.WriteNull("logprobs"u8);
        if (finish is null) w.WriteNull("finish_reason"u8);
        else w.WriteString("finish_reason"u8, finish);
        w.WriteEndObject();
        w.WriteEndArray();
    });

    private void Frame(IBufferWriter<byte> output, Action<Utf8JsonWriter> body)
    {
        _json.ResetWrittenCount();
        using (var w = new Utf8JsonWriter(_json))
        {
            w.WriteStartObject();
            w.WriteString("id"u8, _id);
            w.WriteString("object"u8, "chat.completion.chunk"u8);
            w.WriteNumber("created"u8, created);
            w.WriteString("model"u8, model);
            body(w);
            w.WriteEndObject();
        }
        output.Write("data: "u8);
        output.Write(_json.WrittenSpan);
        output.Write("\n\n"u8);
    }
}
