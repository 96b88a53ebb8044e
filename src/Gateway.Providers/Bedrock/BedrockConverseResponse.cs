using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Core.Errors;
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

    public static GatewayError? Translate(ReadOnlySpan<byte> body, string model, long created, IBufferWriter<byte> output)
    {
        var reader = new Utf8JsonReader(body);
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        if (!root.TryGetProperty("output", out var outputElement) || !outputElement.TryGetProperty("message", out var message))
            return new GatewayError(502, "upstream_error", "upstream_invalid_response", "The provider's answer has no output message.", ErrorSource.Upstream);
        var text = new StringBuilder();
        bool tools = false;
        var content = message.GetProperty("content");
        foreach (var block in content.EnumerateArray())
        {
            if (block.TryGetProperty("text", out var t)) text.Append(t.GetString());
            if (block.TryGetProperty("toolUse", out _)) tools = true;
        }

        using var w = new Utf8JsonWriter(output);
        w.WriteStartObject();
        w.WriteString("id"u8, "chatcmpl-" + Guid.NewGuid().ToString("N"));
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
        if (tools)
        {
            w.WriteStartArray("tool_calls"u8);
            foreach (var block in content.EnumerateArray())
            {
                if (!block.TryGetProperty("toolUse", out var use)) continue;
                w.WriteStartObject();
                w.WriteString("id"u8, use.GetProperty("toolUseId").GetString());
                w.WriteString("type"u8, "function"u8);
                w.WriteStartObject("function"u8);
                w.WriteString("name"u8, use.GetProperty("name").GetString());
                w.WriteString("arguments"u8, use.TryGetProperty("input", out var input) ? input.GetRawText() : "{}");
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
        w.WriteNull("logprobs"u8);
        w.WriteString("finish_reason"u8, FinishReason(root.TryGetProperty("stopReason", out var sr) ? sr.GetString() : null));
        w.WriteEndObject();
        w.WriteEndArray();
        if (root.TryGetProperty("usage", out var usage)) WriteUsage(w, usage);
        w.WriteEndObject();
        return null;
    }

    internal static void WriteUsage(Utf8JsonWriter w, JsonElement usage)
    {
        int read = Int(usage, "cacheReadInputTokens");
        OpenAIUsage.Write(w, Int(usage, "inputTokens") + read + Int(usage, "cacheWriteInputTokens"), Int(usage, "outputTokens"), read);
    }

    private static int Int(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : 0;
}
