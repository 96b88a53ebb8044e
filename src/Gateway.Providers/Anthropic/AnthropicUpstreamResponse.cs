using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Core.Errors;
using Gateway.Core.Protocol;
using Gateway.Providers.OpenAI;

namespace Gateway.Providers.Anthropic;

/// <summary>An Anthropic <c>message</c> as an OpenAI <c>chat.completion</c>.</summary>
public static class AnthropicUpstreamResponse
{
    public static string FinishReason(string? stopReason) => stopReason switch
    {
        "max_tokens" or "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        _ => "stop",
    };

    public static GatewayError? Translate(ReadOnlySpan<byte> anthropicBody, string model, long created, IBufferWriter<byte> output)
    {
        try
        {
            return TranslateUnguarded(anthropicBody, model, created, output);
        }
        catch (Exception ex) when (Http.JsonShape.IsMismatch(ex))
        {
            return Http.JsonShape.InvalidAnswer(ex);
        }
    }

    private static GatewayError? TranslateUnguarded(ReadOnlySpan<byte> anthropicBody, string model, long created, IBufferWriter<byte> output)
    {
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(anthropicBody);
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException ex)
        {
            return new GatewayError(502, "upstream_error", "upstream_invalid_response", $"The provider's answer is not valid JSON: {ex.Message}", ErrorSource.Upstream);
        }
        using (document)
        {
            var root = document.RootElement;
            var text = new StringBuilder();
            var thinking = new StringBuilder();
            var calls = new List<ToolCall>();
            if (root.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array)
                foreach (var block in content.EnumerateArray())
                {
                    string? type = block.TryGetProperty("type", out var t) ? t.GetString() : null;
                    if (type == "text") text.Append(block.GetProperty("text").GetString());
                    else if (type == "thinking" && block.TryGetProperty("thinking", out var th)) thinking.Append(th.GetString());
                    // Anthropic gives the input as an object; OpenAI clients expect a JSON string.
                    else if (type == "tool_use")
                        calls.Add(ToolCall.Of(block.GetProperty("id").GetString()!, block.GetProperty("name").GetString()!, block.TryGetProperty("input", out var input) ? input.GetRawText() : "{}"));
                }
            OpenAICompletionWriter.Write(output, ChatCompletion.Single(
                "chatcmpl-" + (root.TryGetProperty("id", out var id) ? id.GetString() : Guid.NewGuid().ToString("N")), created, model,
                ChatMessage.FromAssistant(text.ToString(), thinking.ToString(), calls),
                FinishReason(root.TryGetProperty("stop_reason", out var sr) ? sr.GetString() : null),
                root.TryGetProperty("usage", out var usage) ? UsageOf(usage) : null));
        }
        return null;
    }

    /// <summary>Anthropic counts cache reads and writes apart from input tokens; OpenAI's prompt_tokens includes them.</summary>
    internal static Usage UsageOf(JsonElement usage) =>
        UsageOf(Int(usage, "input_tokens"), Int(usage, "output_tokens"), Int(usage, "cache_read_input_tokens"), Int(usage, "cache_creation_input_tokens"));

    internal static Usage UsageOf(int input, int output, int cacheRead, int cacheWrite) =>
        Usage.Of(input + cacheRead + cacheWrite, output, cacheRead);

    internal static int Int(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : 0;
}
