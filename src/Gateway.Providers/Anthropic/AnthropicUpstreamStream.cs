using System.Buffers;
using System.Text.Json;
using Gateway.Core.Sse;
using Gateway.Providers.OpenAI;

namespace Gateway.Providers.Anthropic;

/// <summary>
/// Anthropic's stream events as OpenAI <c>chat.completion.chunk</c> frames, one event at a time as
/// they arrive: the first chunk carries <c>role</c>, every chunk the same id, tool-call argument
/// fragments keep the index of their call, the finish reason comes on the last choice chunk, usage
/// (when the request asked for it) in a final empty-choices chunk, then <c>[DONE]</c>.
/// </summary>
public sealed class AnthropicUpstreamStream(string model, long created, bool includeUsage) : IStreamTranslator
{
    private readonly Dictionary<int, int> _toolIndexByBlock = [];
    private readonly OpenAIChunkWriter _chunks = new("chatcmpl-" + Guid.NewGuid().ToString("N"), created, model);
    private int _input, _output, _cacheRead, _cacheWrite;
    private string? _stopReason;

    public bool Completed { get; private set; }

    /// <summary>Anthropic ends with <c>message_stop</c>; a stream that closes before it is truncated.</summary>
    public void OnEnd(IBufferWriter<byte> output) { }

    /// <summary>An <c>error</c> event arrived: the upstream failed mid-stream with this message.</summary>
    public string? Error { get; private set; }

    public void OnFrame(ReadOnlySpan<byte> frame, IBufferWriter<byte> output)
    {
        try
        {
            OnFrameUnguarded(frame, output);
        }
        catch (Exception ex) when (ex is not System.Text.Json.JsonException && Http.JsonShape.IsMismatch(ex))
        {
            throw Http.JsonShape.MalformedEvent(ex);
        }
    }

    private void OnFrameUnguarded(ReadOnlySpan<byte> frame, IBufferWriter<byte> output)
    {
        var data = DataOf(frame);
        if (data.IsEmpty) return;
        if (TryTextDelta(data, out var text))
        {
            _chunks.ContentJson(output, text);
            return;
        }
        var reader = new Utf8JsonReader(data);
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        switch (root.TryGetProperty("type", out var t) ? t.GetString() : null)
        {
            case "message_start":
                var message = root.GetProperty("message");
                if (message.TryGetProperty("id", out var id)) _chunks.Id = "chatcmpl-" + id.GetString();
                if (message.TryGetProperty("usage", out var startUsage))
                {
                    ReadUsage(startUsage);
                    PromptUsage = new(_input + _cacheRead + _cacheWrite, 0, _input + _cacheRead + _cacheWrite, _cacheRead, 0, _cacheWrite);
                }
                _chunks.Role(output);
                break;
            case "content_block_start":
                var block = root.GetProperty("content_block");
                if (block.TryGetProperty("type", out var bt) && bt.ValueEquals("tool_use"u8))
                {
                    int toolIndex = _toolIndexByBlock.Count;
                    _toolIndexByBlock[root.GetProperty("index").GetInt32()] = toolIndex;
                    string callId = block.GetProperty("id").GetString()!, name = block.GetProperty("name").GetString()!;
                    _chunks.ToolCall(output, toolIndex, callId, name, "");
                }
                break;
            case "content_block_delta":
                var delta = root.GetProperty("delta");
                switch (delta.TryGetProperty("type", out var dt) ? dt.GetString() : null)
                {
                    case "text_delta":
                        _chunks.Content(output, delta.GetProperty("text").GetString()!);
                        break;
                    case "input_json_delta":
                        string fragment = delta.GetProperty("partial_json").GetString()!;
                        if (fragment.Length > 0 && _toolIndexByBlock.TryGetValue(root.GetProperty("index").GetInt32(), out int index))
                            _chunks.ToolCall(output, index, null, null, fragment);
                        break;
                    case "thinking_delta":
                        _chunks.Reasoning(output, delta.GetProperty("thinking").GetString()!);
                        break;
                }
                break;
            case "message_delta":
                if (root.TryGetProperty("delta", out var md) && md.TryGetProperty("stop_reason", out var stop) && stop.ValueKind == JsonValueKind.String)
                    _stopReason = stop.GetString();
                if (root.TryGetProperty("usage", out var usage)) ReadUsage(usage);
                break;
            case "message_stop":
                _chunks.Finish(output, AnthropicUpstreamResponse.FinishReason(_stopReason));
                if (includeUsage) _chunks.Usage(output, AnthropicUpstreamResponse.UsageOf(_input, _output, _cacheRead, _cacheWrite));
                OpenAIChunkWriter.Done(output);
                Completed = true;
                break;
            case "error":
                Error = root.TryGetProperty("error", out var e) && e.TryGetProperty("message", out var em) ? em.GetString() : "stream error";
                break;
        }
    }

    /// <summary>
    /// The common event, a <c>text_delta</c>, read with a forward-only reader and no document: most of
    /// a streamed answer's events are these. The text comes back as the inside of its JSON string
    /// literal, escapes intact, ready to be copied into the OpenAI chunk. Anything else takes the general path.
    /// </summary>
    private static bool TryTextDelta(ReadOnlySpan<byte> json, out ReadOnlySpan<byte> text)
    {
        text = default;
        if (json.IndexOf("\"text_delta\""u8) < 0) return false;
        var reader = new Utf8JsonReader(json);
        bool isDelta = false, isText = false;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    isDelta = reader.ValueTextEquals("content_block_delta"u8);
                }
                else if (reader.ValueTextEquals("delta"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartObject) return false;
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueTextEquals("type"u8)) { reader.Read(); isText = reader.ValueTextEquals("text_delta"u8); }
                        else if (reader.ValueTextEquals("text"u8))
                        {
                            reader.Read();
                            if (reader.TokenType != JsonTokenType.String) return false;
                            // The literal's inside as sent: one contiguous span, since the reader reads one span.
                            text = reader.ValueSpan;
                        }
                        else { reader.Read(); reader.Skip(); }
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
            // The whole event was read: the JSON is complete and well formed, so the literal is too.
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read()) return false;
        }
        catch (JsonException)
        {
            return false;
        }
        // Bytes that are not UTF-8 are never passed on as they came: the general path decodes (and refuses) them.
        return isDelta && isText && !text.IsEmpty && System.Text.Unicode.Utf8.IsValid(text);
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

    /// <summary>From <c>message_start</c>: Anthropic counts the input before it answers.</summary>
    public TokenUsage? PromptUsage { get; private set; }

    public TokenUsage Usage => new(_input + _cacheRead + _cacheWrite, _output, _input + _cacheRead + _cacheWrite + _output, _cacheRead, 0);
}
