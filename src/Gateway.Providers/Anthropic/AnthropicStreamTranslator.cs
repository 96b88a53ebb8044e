using System.Buffers;
using System.Text.Json;
using Gateway.Core.Protocol;
using Gateway.Core.Sse;

namespace Gateway.Providers.Anthropic;

/// <summary>
/// Turns an OpenAI <c>chat.completion.chunk</c> stream into Anthropic's event sequence, frame by frame
/// as the chunks arrive: <c>message_start</c>, per block <c>content_block_start</c> / <c>_delta</c>
/// (<c>thinking_delta</c>, <c>text_delta</c>, <c>input_json_delta</c>) / <c>_stop</c>, then <c>message_delta</c> (stop reason,
/// usage) and <c>message_stop</c> once the upstream says <c>[DONE]</c>. Stateful, one per request.
/// </summary>
public sealed class AnthropicStreamTranslator(string model) : Http.CanonicalChunkTranslator, IAsksPromptUsage
{
    private enum Block { None, Text, Thinking, Tool }

    private readonly Dictionary<int, int> _toolBlocks = [];
    private readonly ArrayBufferWriter<byte> _json = new(512);
    private bool _started;
    private Block _open;
    private int _blockIndex = -1;
    private string? _finishReason;

    /// <summary>
    /// The prompt's side of the usage for <c>message_start</c>, asked once when it is written: the real API
    /// reports the input there (some clients read it only there), while OpenAI's usage comes last. The
    /// exact numbers still follow in <c>message_delta</c>. Unset: zero.
    /// </summary>
    public Func<TokenUsage>? PromptUsage { get; set; }

    protected override bool OnDone(IBufferWriter<byte> output)
    {
        Finish(output);
        return true;
    }

    protected override bool OnPayload(ReadOnlySpan<byte> payload, IBufferWriter<byte> output)
    {
        // Most chunks are text alone: written without reading the chunk whole.
        if (_started && TryContentOnly(payload, out string? content)) return TextDelta(output, content) > 0;
        return OnChunk(ReadChunk(payload), output);
    }

    protected override bool OnChunk(ChatCompletionChunk chunk, IBufferWriter<byte> output)
    {
        int written = 0;
        if (!_started)
        {
            _started = true;
            string id = chunk.Id is { Length: > 0 } chunkId ? chunkId : Guid.NewGuid().ToString("N");
            var prompt = PromptUsage?.Invoke() ?? default;
            Event(output, "message_start"u8, w =>
            {
                w.WriteString("type"u8, "message_start"u8);
                w.WriteStartObject("message"u8);
                w.WriteString("id"u8, "msg_" + id);
                w.WriteString("type"u8, "message"u8);
                w.WriteString("role"u8, "assistant"u8);
                w.WriteString("model"u8, model);
                w.WriteStartArray("content"u8);
                w.WriteEndArray();
                w.WriteNull("stop_reason"u8);
                w.WriteNull("stop_sequence"u8);
                w.WriteStartObject("usage"u8);
                // Anthropic counts cache reads apart from input tokens.
                w.WriteNumber("input_tokens"u8, Math.Max(0, prompt.PromptTokens - prompt.CachedTokens - prompt.CacheWriteTokens));
                w.WriteNumber("output_tokens"u8, 0);
                if (prompt.CachedTokens > 0) w.WriteNumber("cache_read_input_tokens"u8, prompt.CachedTokens);
                if (prompt.CacheWriteTokens > 0) w.WriteNumber("cache_creation_input_tokens"u8, prompt.CacheWriteTokens);
                w.WriteEndObject();
                w.WriteEndObject();
            });
            written++;
        }
        if (chunk.Usage is { } usage) ReportedUsage = usage;
        if (chunk.Choices.Count > 0)
        {
            var choice = chunk.Choices[0];
            var delta = choice.Delta;
            if (delta.ReasoningContent is { Length: > 0 } thinking) written += ThinkingDelta(output, thinking);
            if (delta.Content is { Length: > 0 } text) written += TextDelta(output, text);
            if (delta.Refusal is { Length: > 0 } refusal) written += TextDelta(output, refusal);
            foreach (var call in delta.ToolCalls ?? []) written += ToolDelta(output, call);
            if (choice.FinishReason is { } finish) _finishReason = finish;
        }
        return written > 0;
    }

    /// <summary>
    /// The common chunk, text only (no tool calls, no finish, no usage), read forward-only without a
    /// document; any other chunk takes the general path.
    /// </summary>
    private static bool TryContentOnly(ReadOnlySpan<byte> json, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? text)
    {
        text = null;
        if (json.IndexOf("\"tool_calls\""u8) >= 0 || json.IndexOf("\"content\""u8) < 0) return false;
        var reader = new Utf8JsonReader(json);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("choices"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartArray || !reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueTextEquals("delta"u8))
                        {
                            reader.Read();
                            if (reader.TokenType != JsonTokenType.StartObject) return false;
                            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                            {
                                if (reader.ValueTextEquals("content"u8)) { reader.Read(); text = reader.TokenType == JsonTokenType.String ? reader.GetString() : null; }
                                else if (reader.ValueTextEquals("role"u8)) { reader.Read(); }
                                else return false; // refusal, reasoning, anything unusual: general path
                            }
                        }
                        else if (reader.ValueTextEquals("finish_reason"u8))
                        {
                            reader.Read();
                            if (reader.TokenType != JsonTokenType.Null) return false;
                        }
                        else { reader.Read(); reader.Skip(); }
                    }
                    if (!reader.Read() || reader.TokenType != JsonTokenType.EndArray) return false; // more than one choice
                }
                else if (reader.ValueTextEquals("usage"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.Null) return false;
                }
                else { reader.Read(); reader.Skip(); }
            }
        }
        catch (JsonException)
        {
            return false;
        }
        return !string.IsNullOrEmpty(text);
    }

    private int TextDelta(IBufferWriter<byte> output, string text) => StreamedBlock(output, Block.Text, text);

    private int ThinkingDelta(IBufferWriter<byte> output, string thinking) => StreamedBlock(output, Block.Thinking, thinking);

    /// <summary>A text or thinking fragment: opens its block when another kind was open, then the delta.</summary>
    private int StreamedBlock(IBufferWriter<byte> output, Block kind, string fragment)
    {
        bool thinking = kind == Block.Thinking;
        int written = 0;
        if (_open != kind)
        {
            written += CloseBlock(output);
            _open = kind;
            _blockIndex++;
            Event(output, "content_block_start"u8, w =>
            {
                w.WriteString("type"u8, "content_block_start"u8);
                w.WriteNumber("index"u8, _blockIndex);
                w.WriteStartObject("content_block"u8);
                w.WriteString("type"u8, thinking ? "thinking"u8 : "text"u8);
                w.WriteString(thinking ? "thinking"u8 : "text"u8, ""u8);
                // The provider signed nothing; the field is there because Anthropic clients expect it.
                if (thinking) w.WriteString("signature"u8, ""u8);
                w.WriteEndObject();
            });
            written++;
        }
        Event(output, "content_block_delta"u8, w =>
        {
            w.WriteString("type"u8, "content_block_delta"u8);
            w.WriteNumber("index"u8, _blockIndex);
            w.WriteStartObject("delta"u8);
            w.WriteString("type"u8, thinking ? "thinking_delta"u8 : "text_delta"u8);
            w.WriteString(thinking ? "thinking"u8 : "text"u8, fragment);
            w.WriteEndObject();
        });
        return written + 1;
    }

    private int ToolDelta(IBufferWriter<byte> output, ToolCallDelta call)
    {
        int written = 0;
        if (!_toolBlocks.TryGetValue(call.Index, out int block))
        {
            written += CloseBlock(output);
            _open = Block.Tool;
            block = ++_blockIndex;
            _toolBlocks[call.Index] = block;
            string id = call.Id is { Length: > 0 } callId ? callId : "toolu_" + Guid.NewGuid().ToString("N");
            string name = call.Function?.Name ?? "";
            Event(output, "content_block_start"u8, w =>
            {
                w.WriteString("type"u8, "content_block_start"u8);
                w.WriteNumber("index"u8, block);
                w.WriteStartObject("content_block"u8);
                w.WriteString("type"u8, "tool_use"u8);
                w.WriteString("id"u8, id);
                w.WriteString("name"u8, name);
                w.WriteStartObject("input"u8);
                w.WriteEndObject();
                w.WriteEndObject();
            });
            written++;
        }
        if (call.Function?.Arguments is { Length: > 0 } fragment)
        {
            // The fragment keeps the index of its own block, even if parallel calls interleave.
            Event(output, "content_block_delta"u8, w =>
            {
                w.WriteString("type"u8, "content_block_delta"u8);
                w.WriteNumber("index"u8, block);
                w.WriteStartObject("delta"u8);
                w.WriteString("type"u8, "input_json_delta"u8);
                w.WriteString("partial_json"u8, fragment);
                w.WriteEndObject();
            });
            written++;
        }
        return written;
    }

    private int CloseBlock(IBufferWriter<byte> output)
    {
        if (_open == Block.None) return 0;
        _open = Block.None;
        Event(output, "content_block_stop"u8, w =>
        {
            w.WriteString("type"u8, "content_block_stop"u8);
            w.WriteNumber("index"u8, _blockIndex);
        });
        return 1;
    }

    private void Finish(IBufferWriter<byte> output)
    {
        if (!_started) return;
        CloseBlock(output);
        Event(output, "message_delta"u8, w =>
        {
            w.WriteString("type"u8, "message_delta"u8);
            w.WriteStartObject("delta"u8);
            w.WriteString("stop_reason"u8, AnthropicStopReasons.FromOpenAI(_finishReason));
            w.WriteNull("stop_sequence"u8);
            w.WriteEndObject();
            AnthropicResponseTranslator.WriteUsage(w, ReportedUsage);
        });
        Event(output, "message_stop"u8, w => w.WriteString("type"u8, "message_stop"u8));
        Completed = true;
    }

    private void Event(IBufferWriter<byte> output, ReadOnlySpan<byte> name, Action<Utf8JsonWriter> body)
    {
        _json.ResetWrittenCount();
        using (var w = new Utf8JsonWriter(_json))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        output.Write("event: "u8);
        output.Write(name);
        output.Write("\ndata: "u8);
        output.Write(_json.WrittenSpan);
        output.Write("\n\n"u8);
    }
}
