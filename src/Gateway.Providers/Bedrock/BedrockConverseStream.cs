using System.Buffers;
using System.Text.Json;
using Gateway.Providers.OpenAI;

namespace Gateway.Providers.Bedrock;

/// <summary>
/// ConverseStream events (messageStart, contentBlockStart/Delta/Stop, messageStop, metadata) as
/// OpenAI chunks, event by event; the finish chunk, usage and <c>[DONE]</c> follow <c>metadata</c>,
/// the last event. An exception message ends the stream as an error.
/// </summary>
/// <param name="answerTool">The request forced <see cref="BedrockConverseRequest.AnswerTool"/>: its input streams as the answer's text.</param>
public sealed class BedrockConverseStream(string model, long created, bool includeUsage, bool answerTool = false)
{
    private readonly Dictionary<int, int> _toolIndexByBlock = [];
    private readonly HashSet<int> _answerBlocks = [];
    private readonly OpenAIChunkWriter _chunks = new("chatcmpl-" + Guid.NewGuid().ToString("N"), created, model);
    private string? _stopReason;

    public bool Completed { get; private set; }
    public string? Error { get; private set; }

    public void OnEvent(AwsEvent message, IBufferWriter<byte> output)
    {
        try
        {
            OnEventUnguarded(message, output);
        }
        catch (Exception ex) when (ex is not System.Text.Json.JsonException && Http.JsonShape.IsMismatch(ex))
        {
            throw Http.JsonShape.MalformedEvent(ex);
        }
    }

    private void OnEventUnguarded(AwsEvent message, IBufferWriter<byte> output)
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
                _chunks.Role(output);
                break;
            case "contentBlockStart" when root.TryGetProperty("start", out var start) && start.TryGetProperty("toolUse", out var use):
                if (answerTool && use.GetProperty("name").GetString() == BedrockConverseRequest.AnswerTool)
                {
                    _answerBlocks.Add(root.GetProperty("contentBlockIndex").GetInt32());
                    break;
                }
                int toolIndex = _toolIndexByBlock.Count;
                _toolIndexByBlock[root.GetProperty("contentBlockIndex").GetInt32()] = toolIndex;
                _chunks.ToolCall(output, toolIndex, use.GetProperty("toolUseId").GetString(), use.GetProperty("name").GetString(), "");
                break;
            case "contentBlockDelta":
                var delta = root.GetProperty("delta");
                if (delta.TryGetProperty("text", out var text) && text.GetString() is { Length: > 0 } t)
                    _chunks.Content(output, t);
                else if (delta.TryGetProperty("toolUse", out var toolDelta) && toolDelta.TryGetProperty("input", out var input) && input.GetString() is { Length: > 0 } fragment)
                {
                    int block = root.GetProperty("contentBlockIndex").GetInt32();
                    if (_answerBlocks.Contains(block)) _chunks.Content(output, fragment);
                    else if (_toolIndexByBlock.TryGetValue(block, out int index)) _chunks.ToolCall(output, index, null, null, fragment);
                }
                else if (delta.TryGetProperty("reasoningContent", out var reasoning) && reasoning.TryGetProperty("text", out var rt) && rt.GetString() is { Length: > 0 } thought)
                    _chunks.Reasoning(output, thought);
                break;
            case "messageStop":
                _stopReason = root.TryGetProperty("stopReason", out var sr) ? sr.GetString() : null;
                if (_stopReason == "tool_use" && _answerBlocks.Count > 0 && _toolIndexByBlock.Count == 0) _stopReason = "end_turn"; // the answer, not a call
                break;
            case "metadata":
                _chunks.Finish(output, BedrockConverseResponse.FinishReason(_stopReason));
                if (includeUsage && root.TryGetProperty("usage", out var usage)) _chunks.Usage(output, BedrockConverseResponse.UsageOf(usage));
                OpenAIChunkWriter.Done(output);
                Completed = true;
                break;
        }
    }
}
