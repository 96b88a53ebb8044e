using System.Buffers;
using System.Text.Json;
using Gateway.Core.Protocol;
using Gateway.Core.Sse;

namespace Gateway.Providers.OpenAI;

/// <summary>
/// Turns an OpenAI <c>chat.completion.chunk</c> stream into the Responses API's event sequence, as the chunks
/// arrive: <c>response.created</c>, <c>response.in_progress</c>; per reasoning item (the provider's thinking)
/// <c>output_item.added</c>, <c>reasoning_summary_part.added</c>, <c>reasoning_summary_text.delta</c>…, their
/// <c>.done</c> events and <c>output_item.done</c>; per message item <c>output_item.added</c>,
/// <c>content_part.added</c>, <c>output_text.delta</c>…, <c>output_text.done</c>, <c>content_part.done</c>,
/// <c>output_item.done</c>; per function call <c>output_item.added</c>, <c>function_call_arguments.delta</c>…,
/// <c>.done</c>, <c>output_item.done</c>; then, once the upstream says <c>[DONE]</c>, <c>response.completed</c> (or
/// <c>response.incomplete</c> for a cut answer) with the whole output and the usage. Every event has a
/// <c>sequence_number</c> from 0. Stateful, one per request.
/// </summary>
public sealed class ResponsesStreamTranslator(string model) : Http.CanonicalChunkTranslator
{
    private readonly ArrayBufferWriter<byte> _json = new(512);
    private readonly List<ResponsesItem> _items = [];
    private readonly Dictionary<int, ResponsesItem> _calls = [];
    private ResponsesItem? _open;
    private string _id = "";
    private long _createdAt;
    private int _sequence;
    private string? _finishReason;

    /// <summary>The events written so far: the next one's sequence number (an error event continues the count).</summary>
    public int NextSequence => _sequence;

    protected override bool OnChunk(ChatCompletionChunk chunk, IBufferWriter<byte> output)
    {
        int before = _sequence;
        if (_id.Length == 0)
        {
            _id = ResponsesAnswer.ResponseId(chunk.Id);
            _createdAt = chunk.Created > 0 ? chunk.Created : DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            Event(output, "response.created"u8, w => Response(w, final: false));
            Event(output, "response.in_progress"u8, w => Response(w, final: false));
        }
        if (chunk.Usage is { } usage) ReportedUsage = usage;
        if (chunk.Choices.Count > 0)
        {
            var choice = chunk.Choices[0];
            var delta = choice.Delta;
            if (delta.ReasoningContent is { Length: > 0 } thinking) ReasoningDelta(output, thinking);
            string? text = delta.Content is { Length: > 0 } content ? content : delta.Refusal is { Length: > 0 } refusal ? refusal : null;
            if (text is not null) TextDelta(output, text);
            foreach (var call in delta.ToolCalls ?? []) CallDelta(output, call);
            if (choice.FinishReason is { } finish) _finishReason = finish;
        }
        return _sequence > before;
    }

    private void TextDelta(IBufferWriter<byte> output, string text)
    {
        if (_open is not { Type: ResponsesItem.Message })
        {
            Close(output);
            var item = new ResponsesItem(ResponsesItem.Message, $"msg_{ResponsesAnswer.Suffix(_id)}_{_items.Count}");
            Open(output, item);
            Event(output, "response.content_part.added"u8, w =>
            {
                Position(w, item, content: true);
                w.WritePropertyName("part"u8);
                ResponsesAnswer.WriteTextPart(w, "");
            });
        }
        var message = _open!;
        message.Text.Append(text);
        Event(output, "response.output_text.delta"u8, w =>
        {
            Position(w, message, content: true);
            w.WriteString("delta"u8, text);
            w.WriteStartArray("logprobs"u8);
            w.WriteEndArray();
        });
    }

    private void ReasoningDelta(IBufferWriter<byte> output, string thinking)
    {
        if (_open is not { Type: ResponsesItem.Reasoning })
        {
            Close(output);
            var item = new ResponsesItem(ResponsesItem.Reasoning, $"rs_{ResponsesAnswer.Suffix(_id)}_{_items.Count}");
            Open(output, item);
            Event(output, "response.reasoning_summary_part.added"u8, w =>
            {
                Summary(w, item);
                w.WritePropertyName("part"u8);
                ResponsesAnswer.WriteSummaryPart(w, "");
            });
        }
        var reasoning = _open!;
        reasoning.Text.Append(thinking);
        Event(output, "response.reasoning_summary_text.delta"u8, w =>
        {
            Summary(w, reasoning);
            w.WriteString("delta"u8, thinking);
        });
    }

    private void CallDelta(IBufferWriter<byte> output, ToolCallDelta delta)
    {
        if (!_calls.TryGetValue(delta.Index, out var call))
        {
            Close(output);
            call = new ResponsesItem(ResponsesItem.FunctionCall, $"fc_{ResponsesAnswer.Suffix(_id)}_{_items.Count}")
            {
                CallId = delta.Id is { Length: > 0 } id ? id : "call_" + Guid.NewGuid().ToString("N")[..24],
                Name = delta.Function?.Name ?? "",
            };
            _calls[delta.Index] = call;
            Open(output, call);
        }
        else if (!ReferenceEquals(_open, call))
        {
            // A call whose item was closed cannot grow again; OpenAI streams one call's arguments whole before the next.
            throw new JsonException("a tool call's arguments continued after another output began");
        }
        if (delta.Function?.Arguments is { Length: > 0 } arguments)
        {
            call.Text.Append(arguments);
            Event(output, "response.function_call_arguments.delta"u8, w =>
            {
                Position(w, call, content: false);
                w.WriteString("delta"u8, arguments);
            });
        }
    }

    private void Open(IBufferWriter<byte> output, ResponsesItem item)
    {
        _items.Add(item);
        _open = item;
        Event(output, "response.output_item.added"u8, w =>
        {
            w.WriteNumber("output_index"u8, _items.Count - 1);
            w.WritePropertyName("item"u8);
            item.Write(w);
        });
    }

    /// <summary>Ends the open item with its done events.</summary>
    private void Close(IBufferWriter<byte> output)
    {
        if (_open is not { } item) return;
        _open = null;
        item.Done = true;
        string text = item.Text.ToString();
        if (item.Type == ResponsesItem.Message)
        {
            Event(output, "response.output_text.done"u8, w =>
            {
                Position(w, item, content: true);
                w.WriteString("text"u8, text);
                w.WriteStartArray("logprobs"u8);
                w.WriteEndArray();
            });
            Event(output, "response.content_part.done"u8, w =>
            {
                Position(w, item, content: true);
                w.WritePropertyName("part"u8);
                ResponsesAnswer.WriteTextPart(w, text);
            });
        }
        else if (item.Type == ResponsesItem.Reasoning)
        {
            Event(output, "response.reasoning_summary_text.done"u8, w =>
            {
                Summary(w, item);
                w.WriteString("text"u8, text);
            });
            Event(output, "response.reasoning_summary_part.done"u8, w =>
            {
                Summary(w, item);
                w.WritePropertyName("part"u8);
                ResponsesAnswer.WriteSummaryPart(w, text);
            });
        }
        else
        {
            Event(output, "response.function_call_arguments.done"u8, w =>
            {
                Position(w, item, content: false);
                w.WriteString("name"u8, item.Name);
                w.WriteString("arguments"u8, text);
            });
        }
        Event(output, "response.output_item.done"u8, w =>
        {
            w.WriteNumber("output_index"u8, _items.IndexOf(item));
            w.WritePropertyName("item"u8);
            item.Write(w);
        });
    }

    protected override bool OnDone(IBufferWriter<byte> output)
    {
        if (Completed || _id.Length == 0) return false;
        Close(output);
        bool cut = _finishReason is "length" or "content_filter";
        Event(output, cut ? "response.incomplete"u8 : "response.completed"u8, w => Response(w, final: true));
        Completed = true;
        return true;
    }

    private void Position(Utf8JsonWriter w, ResponsesItem item, bool content)
    {
        w.WriteString("item_id"u8, item.Id);
        w.WriteNumber("output_index"u8, _items.IndexOf(item));
        if (content) w.WriteNumber("content_index"u8, 0);
    }

    private void Summary(Utf8JsonWriter w, ResponsesItem item)
    {
        w.WriteString("item_id"u8, item.Id);
        w.WriteNumber("output_index"u8, _items.IndexOf(item));
        w.WriteNumber("summary_index"u8, 0);
    }

    private void Response(Utf8JsonWriter w, bool final)
    {
        w.WritePropertyName("response"u8);
        ResponsesAnswer.WriteResponse(w, _id, _createdAt, model, _finishReason, final ? _items : [], ReportedUsage, final);
    }

    private void Event(IBufferWriter<byte> output, ReadOnlySpan<byte> type, Action<Utf8JsonWriter> body)
    {
        _json.ResetWrittenCount();
        using (var w = new Utf8JsonWriter(_json))
        {
            w.WriteStartObject();
            w.WriteString("type"u8, type);
            w.WriteNumber("sequence_number"u8, _sequence++);
            body(w);
            w.WriteEndObject();
        }
        output.Write("event: "u8);
        output.Write(type);
        output.Write("\ndata: "u8);
        output.Write(_json.WrittenSpan);
        output.Write("\n\n"u8);
    }
}
