using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Core.Errors;
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
            bool tools = false;
            if (root.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array)
                foreach (var block in content.EnumerateArray())
                {
                    string? type = block.TryGetProperty("type", out var t) ? t.GetString() : null;
                    if (type == "text") text.Append(block.GetProperty("text").GetString());
                    else if (type == "thinking" && block.TryGetProperty("thinking", out var th)) thinking.Append(th.GetString());
                    else if (type == "tool_use") tools = true;
                }

            using var w = new Utf8JsonWriter(output);
            w.WriteStartObject();
            w.WriteString("id"u8, "chatcmpl-" + (root.TryGetProperty("id", out var id) ? id.GetString() : Guid.NewGuid().ToString("N")));
            w.WriteString("object"u8, "chat.completion"u8);
            w.WriteNumber("created"u8, created);
            w.WriteString("model"u8, model);
            w.WriteStartArray("choices"u8);
            w.WriteStartObject();
            w.WriteNumber("index"u8, 0);
            w.WriteStartObject("message"u8);
            w.WriteString("role"u8, "assistant"u8);
            if (text.Length > 0 || !tools) w.WriteString("content"u8, text.ToString());
            else w.WriteNull("content"u8);
            if (thinking.Length > 0) w.WriteString("reasoning_content"u8, thinking.ToString());
            if (tools)
            {
                AnthropicBlocks.WriteToolCalls(w, content);
            }
            w.WriteNull("refusal"u8);
            w.WriteEndObject();
            w.WriteNull("logprobs"u8);
            w.WriteString("finish_reason"u8, FinishReason(root.TryGetProperty("stop_reason", out var sr) ? sr.GetString() : null));
            w.WriteEndObject();
            w.WriteEndArray();
            if (root.TryGetProperty("usage", out var usage)) WriteUsage(w, usage);
            w.WriteEndObject();
        }
        return null;
    }

    /// <summary>Anthropic counts cache reads and writes apart from input tokens; OpenAI's prompt_tokens includes them.</summary>
    internal static void WriteUsage(Utf8JsonWriter w, JsonElement usage) =>
        WriteUsage(w, Int(usage, "input_tokens"), Int(usage, "output_tokens"), Int(usage, "cache_read_input_tokens"), Int(usage, "cache_creation_input_tokens"));

    internal static void WriteUsage(Utf8JsonWriter w, int input, int output, int cacheRead, int cacheWrite) =>
        OpenAIUsage.Write(w, input + cacheRead + cacheWrite, output, cacheRead);

    internal static int Int(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : 0;
}
