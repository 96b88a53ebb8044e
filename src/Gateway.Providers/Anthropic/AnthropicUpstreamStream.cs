using System.Buffers;
using System.Text.Json;
using Gateway.Core.Sse;

namespace Gateway.Providers.Anthropic;

/// <summary>
/// Anthropic's stream events as OpenAI <c>chat.completion.chunk</c> frames, one event at a time as
/// they arrive: the first chunk carries <c>role</c>, every chunk the same id, tool-call argument
/// fragments keep the index of their call, the finish reason comes on the last choice chunk, usage
/// (when the request asked for it) in a final empty-choices chunk, then <c>[DONE]</c>.
/// </summary>
public sealed class AnthropicUpstreamStream(string model, long created, bool includeUsage) : Gateway.Providers.Http.IStreamTranslator
{
    private readonly Dictionary<int, int> _toolIndexByBlock = [];
    private readonly ArrayBufferWriter<byte> _json = new(512);
    private string _id = "chatcmpl-" + Guid.NewGuid().ToString("N");
    private int _input, _output, _cacheRead, _cacheWrite;
    private string? _stopReason;

    public bool Completed { get; private set; }

    /// <summary>Anthropic ends with <c>message_stop</c>; a stream that closes before it is truncated.</summary>
    public void OnEnd(IBufferWriter<byte> output) { }

    /// <summary>An <c>error</c> event arrived: the upstream failed mid-stream with this message.</summary>
    public string? Error { get; private set; }

    public void OnFrame(ReadOnlySpan<byte> frame, IBufferWriter<byte> output)
    {
        var data = DataOf(frame);
        if (data.IsEmpty) return;
        var reader = new Utf8JsonReader(data);
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        switch (root.TryGetProperty("type", out var t) ? t.GetString() : null)
        {
            case "message_start":
                var message = root.GetProperty("message");
                if (message.TryGetProperty("id", out var id)) _id = "chatcmpl-" + id.GetString();
                if (message.TryGetProperty("usage", out var startUsage)) ReadUsage(startUsage);
                Chunk(output, w =>
                {
                    w.WriteStartObject("delta"u8);
                    w.WriteString("role"u8, "assistant"u8);
                    w.WriteString("content"u8, ""u8);
                    w.WriteEndObject();
                }, finish: null);
                break;
            case "content_block_start":
                var block = root.GetProperty("content_block");
                if (block.TryGetProperty("type", out var bt) && bt.ValueEquals("tool_use"u8))
                {
                    int toolIndex = _toolIndexByBlock.Count;
                    _toolIndexByBlock[root.GetProperty("index").GetInt32()] = toolIndex;
                    string callId = block.GetProperty("id").GetString()!, name = block.GetProperty("name").GetString()!;
                    Chunk(output, w => ToolDelta(w, toolIndex, callId, name, ""), finish: null);
                }
                break;
            case "content_block_delta":
                var delta = root.GetProperty("delta");
                switch (delta.TryGetProperty("type", out var dt) ? dt.GetString() : null)
                {
                    case "text_delta":
                        string text = delta.GetProperty("text").GetString()!;
                        Chunk(output, w =>
                        {
                            w.WriteStartObject("delta"u8);
                            w.WriteString("content"u8, text);
                            w.WriteEndObject();
                        }, finish: null);
                        break;
                    case "input_json_delta":
                        string fragment = delta.GetProperty("partial_json").GetString()!;
                        if (fragment.Length > 0 && _toolIndexByBlock.TryGetValue(root.GetProperty("index").GetInt32(), out int index))
                            Chunk(output, w => ToolDelta(w, index, null, null, fragment), finish: null);
                        break;
                    case "thinking_delta":
                        string thought = delta.GetProperty("thinking").GetString()!;
                        Chunk(output, w =>
                        {
                            w.WriteStartObject("delta"u8);
                            w.WriteString("reasoning_content"u8, thought);
                            w.WriteEndObject();
                        }, finish: null);
                        break;
                }
                break;
            case "message_delta":
                if (root.TryGetProperty("delta", out var md) && md.TryGetProperty("stop_reason", out var stop) && stop.ValueKind == JsonValueKind.String)
                    _stopReason = stop.GetString();
                if (root.TryGetProperty("usage", out var usage)) ReadUsage(usage);
                break;
            case "message_stop":
                Chunk(output, w =>
                {
                    w.WriteStartObject("delta"u8);
                    w.WriteEndObject();
                }, finish: AnthropicUpstreamResponse.FinishReason(_stopReason));
                if (includeUsage) UsageChunk(output);
                output.Write("data: [DONE]\n\n"u8);
                Completed = true;
                break;
            case "error":
                Error = root.TryGetProperty("error", out var e) && e.TryGetProperty("message", out var em) ? em.GetString() : "stream error";
                break;
        }
    }

    private static ReadOnlySpan<byte> DataOf(ReadOnlySpan<byte> frame)
    {
        // Anthropic frames are "event: <name>\ndata: <json>\n\n"; the type is in the JSON too.
        while (!frame.IsEmpty)
        {
            int end = frame.IndexOfAny((byte)'\r', (byte)'\n');
            var line = end < 0 ? frame : frame[..end];
            if (line.StartsWith("data:"u8)) return line[5..].TrimStart((byte)' ');
            if (end < 0) break;
            frame = frame[(end + 1)..];
        }
        return default;
    }

    private void ReadUsage(JsonElement usage)
    {
        // message_start carries input counts, message_delta the cumulative output (and sometimes input).
        if (AnthropicUpstreamResponse.Int(usage, "input_tokens") is > 0 and var input) _input = input;
        if (AnthropicUpstreamResponse.Int(usage, "output_tokens") is > 0 and var output) _output = output;
        if (AnthropicUpstreamResponse.Int(usage, "cache_read_input_tokens") is > 0 and var read) _cacheRead = read;
        if (AnthropicUpstreamResponse.Int(usage, "cache_creation_input_tokens") is > 0 and var write) _cacheWrite = write;
    }

    public TokenUsage Usage => new(_input + _cacheRead + _cacheWrite, _output, _input + _cacheRead + _cacheWrite + _output, _cacheRead, 0);

    private static void ToolDelta(Utf8JsonWriter w, int index, string? id, string? name, string arguments)
    {
        w.WriteStartObject("delta"u8);
        w.WriteStartArray("tool_calls"u8);
        w.WriteStartObject();
        w.WriteNumber("index"u8, index);
        if (id is not null)
        {
            w.WriteString("id"u8, id);
            w.WriteString("type"u8, "function"u8);
        }
        w.WriteStartObject("function"u8);
        if (name is not null) w.WriteString("name"u8, name);
        w.WriteString("arguments"u8, arguments);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private void Chunk(IBufferWriter<byte> output, Action<Utf8JsonWriter> delta, string? finish)
    {
        Frame(output, w =>
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
    }

    private void UsageChunk(IBufferWriter<byte> output) => Frame(output, w =>
    {
        w.WriteStartArray("choices"u8);
        w.WriteEndArray();
        AnthropicUpstreamResponse.WriteUsage(w, _input, _output, _cacheRead, _cacheWrite);
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
