using System.Buffers;
using System.Text.Json;

namespace Gateway.Providers.Bedrock;

/// <summary>
/// ConverseStream events (messageStart, contentBlockStart/Delta/Stop, messageStop, metadata) as
/// OpenAI chunks, event by event; the finish chunk, usage and <c>[DONE]</c> follow <c>metadata</c>,
/// the last event. An exception message ends the stream as an error.
/// </summary>
public sealed class BedrockConverseStream(string model, long created, bool includeUsage)
{
    private readonly Dictionary<int, int> _toolIndexByBlock = [];
    private readonly ArrayBufferWriter<byte> _json = new(512);
    private readonly string _id = "chatcmpl-" + Guid.NewGuid().ToString("N");
    private string? _stopReason;

    public bool Completed { get; private set; }
    public string? Error { get; private set; }

    public void OnEvent(AwsEvent message, IBufferWriter<byte> output)
    {
        if (message.MessageType == "exception")
        {
            Error = $"{message.ExceptionType}: {System.Text.Encoding.UTF8.GetString(message.Payload.Span)}";
            return;
        }
        var reader = new Utf8JsonReader(message.Payload.Span);
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        switch (message.EventType)
        {
            case "messageStart":
                Chunk(output, w => { w.WriteStartObject("delta"u8); w.WriteString("role"u8, "assistant"u8); w.WriteString("content"u8, ""u8); w.WriteEndObject(); }, null);
                break;
            case "contentBlockStart" when root.TryGetProperty("start", out var start) && start.TryGetProperty("toolUse", out var use):
                int toolIndex = _toolIndexByBlock.Count;
                _toolIndexByBlock[root.GetProperty("contentBlockIndex").GetInt32()] = toolIndex;
                string id = use.GetProperty("toolUseId").GetString()!, name = use.GetProperty("name").GetString()!;
                Chunk(output, w => Tool(w, toolIndex, id, name, ""), null);
                break;
            case "contentBlockDelta":
                var delta = root.GetProperty("delta");
                if (delta.TryGetProperty("text", out var text) && text.GetString() is { Length: > 0 } t)
                    Chunk(output, w => { w.WriteStartObject("delta"u8); w.WriteString("content"u8, t); w.WriteEndObject(); }, null);
                else if (delta.TryGetProperty("toolUse", out var toolDelta) && toolDelta.TryGetProperty("input", out var input)
                    && input.GetString() is { Length: > 0 } fragment && _toolIndexByBlock.TryGetValue(root.GetProperty("contentBlockIndex").GetInt32(), out int index))
                    Chunk(output, w => Tool(w, index, null, null, fragment), null);
                else if (delta.TryGetProperty("reasoningContent", out var reasoning) && reasoning.TryGetProperty("text", out var rt) && rt.GetString() is { Length: > 0 } thought)
                    Chunk(output, w => { w.WriteStartObject("delta"u8); w.WriteString("reasoning_content"u8, thought); w.WriteEndObject(); }, null);
                break;
            case "messageStop":
                _stopReason = root.TryGetProperty("stopReason", out var sr) ? sr.GetString() : null;
                break;
            case "metadata":
                Chunk(output, w => { w.WriteStartObject("delta"u8); w.WriteEndObject(); }, BedrockConverseResponse.FinishReason(_stopReason));
                if (includeUsage && root.TryGetProperty("usage", out var usage))
                    Frame(output, w =>
                    {
                        w.WriteStartArray("choices"u8);
                        w.WriteEndArray();
                        BedrockConverseResponse.WriteUsage(w, usage);
                    });
                output.Write("data: [DONE]\n\n"u8);
                Completed = true;
                break;
        }
    }

    private static void Tool(Utf8JsonWriter w, int index, string? id, string? name, string arguments)
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
