using System.Buffers;
using System.Text.Json;
using Gateway.Core.Protocol;

namespace Gateway.Providers.OpenAI;

/// <summary>
/// Writes OpenAI <c>chat.completion.chunk</c> SSE frames for the stream translators: every frame
/// carries the same id, created and model, as the OpenAI SDKs expect.
/// </summary>
internal sealed class OpenAIChunkWriter(string id, long created, string model)
{
    private readonly ArrayBufferWriter<byte> _json = new(512);
    private byte[]? _header;
    private string _id = id;

    /// <summary>Set once the provider's own id is known (it arrives with the first event).</summary>
    public string Id
    {
        get => _id;
        set
        {
            _id = value;
            _header = null;
        }
    }

    /// <summary>
    /// A content chunk from text that is already the inside of a JSON string literal (escapes and all),
    /// as a provider's own JSON carried it: copied as it is, with no string, no decoding and no
    /// re-escaping. The common frame of a translated stream.
    /// </summary>
    public void ContentJson(IBufferWriter<byte> output, ReadOnlySpan<byte> escapedText)
    {
        output.Write("data: "u8);
        output.Write(_header ??= EncodeHeader());
        output.Write(",\"choices\":[{\"index\":0,\"delta\":{\"content\":\""u8);
        output.Write(escapedText);
        output.Write("\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"u8);
    }

    /// <summary>The chunk's opening up to and including <c>model</c>, as <see cref="Header"/> writes it.</summary>
    private byte[] EncodeHeader()
    {
        _json.ResetWrittenCount();
        using (var w = new Utf8JsonWriter(_json))
        {
            Header(w);
            w.Flush();
        }
        return _json.WrittenSpan.ToArray();
    }

    public void Role(IBufferWriter<byte> output) => Text(output, "role"u8, "assistant", withEmptyContent: true);

    /// <summary>The most frequent frame by far: written without a closure.</summary>
    public void Content(IBufferWriter<byte> output, string text) => Text(output, "content"u8, text, withEmptyContent: false);

    public void Reasoning(IBufferWriter<byte> output, string text) => Text(output, "reasoning_content"u8, text, withEmptyContent: false);

    private void Text(IBufferWriter<byte> output, ReadOnlySpan<byte> field, string value, bool withEmptyContent)
    {
        _json.ResetWrittenCount();
        using (var w = new Utf8JsonWriter(_json))
        {
            Header(w);
            w.WriteStartArray("choices"u8);
            w.WriteStartObject();
            w.WriteNumber("index"u8, 0);
            w.WriteStartObject("delta"u8);
            w.WriteString(field, value);
            if (withEmptyContent) w.WriteString("content"u8, ""u8);
            w.WriteEndObject();
            w.WriteNull("logprobs"u8);
            w.WriteNull("finish_reason"u8);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }
        Emit(output);
    }

    /// <summary>A tool-call delta: the first for a call carries its id and name, later ones argument fragments.</summary>
    public void ToolCall(IBufferWriter<byte> output, int index, string? callId, string? name, string arguments) => Choice(output, w =>
    {
        w.WriteStartArray("tool_calls"u8);
        w.WriteStartObject();
        w.WriteNumber("index"u8, index);
        if (callId is not null)
        {
            w.WriteString("id"u8, callId);
            w.WriteString("type"u8, "function"u8);
        }
        w.WriteStartObject("function"u8);
        if (name is not null) w.WriteString("name"u8, name);
        w.WriteString("arguments"u8, arguments);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndArray();
    }, null);

    public void Finish(IBufferWriter<byte> output, string finishReason) => Choice(output, _ => { }, finishReason);

    /// <summary>The final empty-choices chunk that carries the usage.</summary>
    public void Usage(IBufferWriter<byte> output, Usage usage) => Frame(output, w =>
    {
        w.WriteStartArray("choices"u8);
        w.WriteEndArray();
        OpenAIUsage.Write(w, usage);
    });

    public static void Done(IBufferWriter<byte> output) => output.Write("data: [DONE]\n\n"u8);

    private void Choice(IBufferWriter<byte> output, Action<Utf8JsonWriter> delta, string? finish) => Frame(output, w =>
    {
        w.WriteStartArray("choices"u8);
        w.WriteStartObject();
        w.WriteNumber("index"u8, 0);
        w.WriteStartObject("delta"u8);
        delta(w);
        w.WriteEndObject();
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
            Header(w);
            body(w);
            w.WriteEndObject();
        }
        Emit(output);
    }

    private void Header(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("id"u8, _id);
        w.WriteString("object"u8, "chat.completion.chunk"u8);
        w.WriteNumber("created"u8, created);
        w.WriteString("model"u8, model);
    }

    private void Emit(IBufferWriter<byte> output)
    {
        output.Write("data: "u8);
        output.Write(_json.WrittenSpan);
        output.Write("\n\n"u8);
    }
}
