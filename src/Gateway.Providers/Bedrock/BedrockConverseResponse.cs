using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Core.Errors;
using Gateway.Core.Protocol;
using Gateway.Providers.OpenAI;

namespace Gateway.Providers.Bedrock;

/// <summary>A Bedrock Converse answer as an OpenAI <c>chat.completion</c>.</summary>
public static class BedrockConverseResponse
{
    public static string FinishReason(string? stopReason) => stopReason switch
    {
        "max_tokens" or "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "guardrail_intervened" or "content_filtered" => "content_filter",
        _ => "stop",
    };

    /// <param name="answerTool">The request forced <see cref="BedrockConverseRequest.AnswerTool"/>: its call's input is the answer's text.</param>
    public static GatewayError? Translate(ReadOnlySpan<byte> body, string model, long created, IBufferWriter<byte> output, bool answerTool = false)
    {
        try
        {
            return TranslateUnguarded(body, model, created, output, answerTool);
        }
        catch (Exception ex) when (Http.JsonShape.IsMismatch(ex))
        {
            return Http.JsonShape.InvalidAnswer(ex);
        }
    }

    private static GatewayError? TranslateUnguarded(ReadOnlySpan<byte> body, string model, long created, IBufferWriter<byte> output, bool answerTool)
    {
        var reader = new Utf8JsonReader(body);
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        if (!root.TryGetProperty("output", out var outputElement) || !outputElement.TryGetProperty("message", out var message))
            return new GatewayError(502, "upstream_error", "upstream_invalid_response", "The provider's answer has no output message.", ErrorSource.Upstream);
        var text = new StringBuilder();
        var calls = new List<ToolCall>();
        foreach (var block in message.GetProperty("content").EnumerateArray())
        {
            if (block.TryGetProperty("text", out var t)) text.Append(t.GetString());
            if (block.TryGetProperty("toolUse", out var use))
            {
                string name = use.GetProperty("name").GetString()!, input = use.TryGetProperty("input", out var i) ? i.GetRawText() : "{}";
                if (answerTool && name == BedrockConverseRequest.AnswerTool) text.Append(input);
                else calls.Add(ToolCall.Of(use.GetProperty("toolUseId").GetString()!, name, input));
            }
        }
        string? stopReason = root.TryGetProperty("stopReason", out var sr) ? sr.GetString() : null;
        if (answerTool && stopReason == "tool_use" && calls.Count == 0) stopReason = "end_turn"; // the answer, not a call for the client
        OpenAICompletionWriter.Write(output, ChatCompletion.Single("chatcmpl-" + Guid.NewGuid().ToString("N"), created, model,
            ChatMessage.FromAssistant(text.ToString(), null, calls),
            FinishReason(stopReason),
            root.TryGetProperty("usage", out var usage) ? UsageOf(usage) : null));
        return null;
    }

    internal static Usage UsageOf(JsonElement usage)
    {
        int read = Int(usage, "cacheReadInputTokens");
        return Usage.Of(Int(usage, "inputTokens") + read + Int(usage, "cacheWriteInputTokens"), Int(usage, "outputTokens"), read);
    }

    private static int Int(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : 0;
}
