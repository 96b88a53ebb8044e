using System.Buffers;
using System.Text.Json;
using Gateway.Core.Errors;

namespace Gateway.Providers.Anthropic;

/// <summary>An OpenAI <c>chat.completion</c> as an Anthropic <c>message</c>.</summary>
public static class AnthropicResponseTranslator
{
    public static GatewayError? Translate(ReadOnlyMemory<byte> openAiBody, string model, IBufferWriter<byte> output)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(openAiBody);
        }
        catch (JsonException ex)
        {
            return new GatewayError(502, "upstream_error", "upstream_invalid_response", $"The provider's answer is not valid JSON: {ex.Message}", ErrorSource.Upstream);
        }
        using (document)
        {
            var root = document.RootElement;
            if (!root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
                return new GatewayError(502, "upstream_error", "upstream_invalid_response", "The provider's answer has no choices.", ErrorSource.Upstream);
            var choice = choices[0];
            var message = choice.TryGetProperty("message", out var m) ? m : default;

            using var w = new Utf8JsonWriter(output);
            w.WriteStartObject();
            w.WriteString("id"u8, "msg_" + (root.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : Guid.NewGuid().ToString("N")));
            w.WriteString("type"u8, "message"u8);
            w.WriteString("role"u8, "assistant"u8);
            w.WriteString("model"u8, model);
            w.WriteStartArray("content"u8);
            if (message.ValueKind == JsonValueKind.Object)
            {
                foreach (var field in new[] { "content", "refusal" })
                    if (message.TryGetProperty(field, out var text) && text.ValueKind == JsonValueKind.String && text.GetString() is { Length: > 0 } s)
                    {
                        w.WriteStartObject();
                        w.WriteString("type"u8, "text"u8);
                        w.WriteString("text"u8, s);
                        w.WriteEndObject();
                    }
                if (message.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
                    foreach (var call in calls.EnumerateArray())
                    {
                        var function = call.GetProperty("function");
                        w.WriteStartObject();
                        w.WriteString("type"u8, "tool_use"u8);
                        w.WriteString("id"u8, call.TryGetProperty("id", out var cid) ? cid.GetString() : "toolu_" + Guid.NewGuid().ToString("N"));
                        w.WriteString("name"u8, function.GetProperty("name").GetString());
                        w.WritePropertyName("input"u8);
                        WriteArguments(w, function.TryGetProperty("arguments", out var args) ? args.GetString() : null);
                        w.WriteEndObject();
                    }
            }
            w.WriteEndArray();
            w.WriteString("stop_reason"u8, AnthropicStopReasons.FromOpenAI(choice.TryGetProperty("finish_reason", out var f) ? f.GetString() : null));
            w.WriteNull("stop_sequence"u8);
            WriteUsage(w, root.TryGetProperty("usage", out var usage) ? usage : default);
            w.WriteEndObject();
        }
        return null;
    }

    /// <summary>Tool arguments arrive as a JSON string; Anthropic wants the object. Unparseable text is kept as a string field, not lost.</summary>
    internal static void WriteArguments(Utf8JsonWriter w, string? arguments)
    {
        if (string.IsNullOrWhiteSpace(arguments))
        {
            w.WriteStartObject();
            w.WriteEndObject();
            return;
        }
        try
        {
            using var parsed = JsonDocument.Parse(arguments);
            if (parsed.RootElement.ValueKind == JsonValueKind.Object)
            {
                parsed.RootElement.WriteTo(w);
                return;
            }
        }
        catch (JsonException)
        {
        }
        w.WriteStartObject();
        w.WriteString("_raw_arguments"u8, arguments);
        w.WriteEndObject();
    }

    internal static void WriteUsage(Utf8JsonWriter w, JsonElement usage)
    {
        int prompt = 0, completion = 0, cached = 0;
        if (usage.ValueKind == JsonValueKind.Object)
        {
            if (usage.TryGetProperty("prompt_tokens", out var p) && p.TryGetInt32(out int pv)) prompt = pv;
            if (usage.TryGetProperty("completion_tokens", out var c) && c.TryGetInt32(out int cv)) completion = cv;
            if (usage.TryGetProperty("prompt_tokens_details", out var d) && d.ValueKind == JsonValueKind.Object
                && d.TryGetProperty("cached_tokens", out var ct) && ct.TryGetInt32(out int cached1)) cached = cached1;
        }
        w.WriteStartObject("usage"u8);
        // Anthropic counts cache reads apart from input tokens.
        w.WriteNumber("input_tokens"u8, prompt - cached);
        w.WriteNumber("output_tokens"u8, completion);
        if (cached > 0) w.WriteNumber("cache_read_input_tokens"u8, cached);
        w.WriteEndObject();
    }
}
