using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Core.Errors;

namespace Gateway.Providers.Anthropic;

/// <summary>
/// An Anthropic Messages request (what <c>/v1/messages</c> receives) as an OpenAI Chat Completions
/// request: system hoisted into a system message, content blocks into parts, <c>tool_use</c> into
/// <c>tool_calls</c> (arguments as a JSON string), <c>tool_result</c> into <c>tool</c> messages placed
/// right after the assistant turn that asked. Fields OpenAI has no place for are reported in
/// <paramref name="dropped"/> so the caller can log them; nothing is silently lost.
/// </summary>
public static class AnthropicRequestTranslator
{
    private static readonly string[] DroppedFields = ["top_k", "thinking", "service_tier", "container", "mcp_servers", "context_management"];

    /// <param name="body">The client's Anthropic request.</param>
    /// <param name="upstreamModelJson">The provider's model id as JSON string content (escaped, no quotes).</param>
    /// <param name="maxCompletionTokens">Name the limit <c>max_completion_tokens</c> (OpenAI) instead of <c>max_tokens</c> (most compatible servers).</param>
    /// <param name="output">The OpenAI request.</param>
    /// <param name="dropped">Names of fields that had no OpenAI equivalent.</param>
    public static GatewayError? Translate(ReadOnlyMemory<byte> body, ReadOnlySpan<byte> upstreamModelJson, bool maxCompletionTokens,
        IBufferWriter<byte> output, List<string> dropped)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException)
        {
            return GatewayError.BadRequest("The request body is not valid JSON.", "invalid_json");
        }
        using (document)
        {
            var root = document.RootElement;
            if (!root.TryGetProperty("max_tokens", out var maxTokens) || maxTokens.ValueKind != JsonValueKind.Number || !maxTokens.TryGetInt32(out int max) || max < 1)
                return GatewayError.BadRequest("max_tokens: Field required (a positive integer).", "missing_max_tokens");
            var messages = root.GetProperty("messages"); // presence and type checked by RequestInspector

            using var w = new Utf8JsonWriter(output);
            w.WriteStartObject();
            w.WritePropertyName("model"u8);
            Span<byte> quoted = upstreamModelJson.Length + 2 <= 1024 ? stackalloc byte[upstreamModelJson.Length + 2] : new byte[upstreamModelJson.Length + 2];
            quoted[0] = (byte)'"';
            upstreamModelJson.CopyTo(quoted[1..]);
            quoted[^1] = (byte)'"';
            w.WriteRawValue(quoted, skipInputValidation: true);

            w.WriteStartArray("messages"u8);
            if (root.TryGetProperty("system", out var system))
            {
                string text = system.ValueKind == JsonValueKind.String ? system.GetString()! : JoinText(system);
                if (text.Length > 0)
                {
                    w.WriteStartObject();
                    w.WriteString("role"u8, "system"u8);
                    w.WriteString("content"u8, text);
                    w.WriteEndObject();
                }
            }
            int index = 0;
            foreach (var message in messages.EnumerateArray())
            {
                if (WriteMessage(w, message, index++, dropped) is { } error) return error;
            }
            w.WriteEndArray();

            w.WriteNumber(maxCompletionTokens ? "max_completion_tokens"u8 : "max_tokens"u8, max);
            CopyNumber(w, root, "temperature", "temperature"u8);
            CopyNumber(w, root, "top_p", "top_p"u8);
            if (root.TryGetProperty("stop_sequences", out var stops) && stops.ValueKind == JsonValueKind.Array && stops.GetArrayLength() > 0)
            {
                w.WritePropertyName("stop"u8);
                stops.WriteTo(w);
            }
            if (root.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True)
            {
                w.WriteBoolean("stream"u8, true);
                w.WriteStartObject("stream_options"u8);
                w.WriteBoolean("include_usage"u8, true);
                w.WriteEndObject();
            }
            if (root.TryGetProperty("tools", out var tools) && tools.ValueKind == JsonValueKind.Array && tools.GetArrayLength() > 0)
            {
                if (WriteTools(w, tools, dropped) is { } error) return error;
                if (root.TryGetProperty("tool_choice", out var choice) && WriteToolChoice(w, choice) is { } choiceError) return choiceError;
            }
            if (root.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object
                && metadata.TryGetProperty("user_id", out var user) && user.ValueKind == JsonValueKind.String)
                w.WriteString("user"u8, user.GetString());
            w.WriteEndObject();

            foreach (var field in DroppedFields)
                if (root.TryGetProperty(field, out _)) dropped.Add(field);
        }
        return null;
    }

    private static GatewayError? WriteMessage(Utf8JsonWriter w, JsonElement message, int index, List<string> dropped)
    {
        if (message.ValueKind != JsonValueKind.Object || !message.TryGetProperty("role", out var roleElement) || !message.TryGetProperty("content", out var content))
            return GatewayError.BadRequest($"messages.{index}: each message needs 'role' and 'content'.", "invalid_messages");
        string? role = roleElement.GetString();
        if (role is not ("user" or "assistant"))
            return GatewayError.BadRequest($"messages.{index}.role: must be \"user\" or \"assistant\" (system text goes in the top-level 'system').", "invalid_messages");

        if (content.ValueKind == JsonValueKind.String)
        {
            w.WriteStartObject();
            w.WriteString("role"u8, role);
            w.WriteString("content"u8, content.GetString());
            w.WriteEndObject();
            return null;
        }
        if (content.ValueKind != JsonValueKind.Array)
            return GatewayError.BadRequest($"messages.{index}.content: must be a string or an array of content blocks.", "invalid_messages");

        return role == "assistant" ? WriteAssistant(w, content, index, dropped) : WriteUser(w, content, index, dropped);
    }

    private static GatewayError? WriteAssistant(Utf8JsonWriter w, JsonElement blocks, int index, List<string> dropped)
    {
        var text = new StringBuilder();
        bool hasTools = false;
        foreach (var block in blocks.EnumerateArray())
        {
            string? type = block.TryGetProperty("type", out var t) ? t.GetString() : null;
            if (type == "text") text.Append(block.GetProperty("text").GetString());
            else if (type == "tool_use") hasTools = true;
            else if (type is "thinking" or "redacted_thinking") dropped.Add($"messages.{index}.content.{type}");
            else return GatewayError.BadRequest($"messages.{index}.content: block type '{type}' is not supported in an assistant turn.", "invalid_messages");
        }
        w.WriteStartObject();
        w.WriteString("role"u8, "assistant"u8);
        if (text.Length > 0) w.WriteString("content"u8, text.ToString());
        else w.WriteNull("content"u8);
        if (hasTools)
        {
            AnthropicBlocks.WriteToolCalls(w, blocks);
        }
        w.WriteEndObject();
        return null;
    }

    private static GatewayError? WriteUser(Utf8JsonWriter w, JsonElement blocks, int index, List<string> dropped)
    {
        // Tool results first: OpenAI wants each "tool" message right after the assistant's tool_calls.
        foreach (var block in blocks.EnumerateArray())
        {
            if (!block.TryGetProperty("type", out var t) || !t.ValueEquals("tool_result"u8)) continue;
            w.WriteStartObject();
            w.WriteString("role"u8, "tool"u8);
            w.WriteString("tool_call_id"u8, block.GetProperty("tool_use_id").GetString());
            string result = !block.TryGetProperty("content", out var c) ? "" : c.ValueKind == JsonValueKind.String ? c.GetString()! : JoinText(c);
            if (block.TryGetProperty("is_error", out var isError) && isError.ValueKind == JsonValueKind.True) result = "Error: " + result;
            w.WriteString("content"u8, result);
            w.WriteEndObject();
        }

        int parts = 0;
        foreach (var block in blocks.EnumerateArray())
        {
            string? type = block.TryGetProperty("type", out var t) ? t.GetString() : null;
            if (type is "text" or "image") parts++;
            else if (type == "tool_result") continue;
            else if (type == "document") dropped.Add($"messages.{index}.content.document");
            else return GatewayError.BadRequest($"messages.{index}.content: block type '{type}' is not supported in a user turn.", "invalid_messages");
        }
        if (parts == 0) return null;

        w.WriteStartObject();
        w.WriteString("role"u8, "user"u8);
        w.WriteStartArray("content"u8);
        foreach (var block in blocks.EnumerateArray())
        {
            string? type = block.TryGetProperty("type", out var t) ? t.GetString() : null;
            if (type == "text")
            {
                w.WriteStartObject();
                w.WriteString("type"u8, "text"u8);
                w.WriteString("text"u8, block.GetProperty("text").GetString());
                w.WriteEndObject();
            }
            else if (type == "image")
            {
                var source = block.GetProperty("source");
                string? url = source.TryGetProperty("type", out var st) && st.ValueEquals("base64"u8)
                    ? $"data:{source.GetProperty("media_type").GetString()};base64,{source.GetProperty("data").GetString()}"
                    : source.TryGetProperty("url", out var u) ? u.GetString() : null;
                if (url is null) return GatewayError.BadRequest($"messages.{index}.content: an image needs a base64 or url source.", "invalid_messages");
                w.WriteStartObject();
                w.WriteString("type"u8, "image_url"u8);
                w.WriteStartObject("image_url"u8);
                w.WriteString("url"u8, url);
                w.WriteEndObject();
                w.WriteEndObject();
            }
        }
        w.WriteEndArray();
        w.WriteEndObject();
        return null;
    }

    private static GatewayError? WriteTools(Utf8JsonWriter w, JsonElement tools, List<string> dropped)
    {
        w.WriteStartArray("tools"u8);
        int i = 0;
        foreach (var tool in tools.EnumerateArray())
        {
            if (!tool.TryGetProperty("input_schema", out var schema))
            {
                // Anthropic server tools (web search, code execution, ...) run at Anthropic; no OpenAI equivalent.
                dropped.Add($"tools.{i++}({(tool.TryGetProperty("type", out var tt) ? tt.GetString() : "?")})");
                continue;
            }
            w.WriteStartObject();
            w.WriteString("type"u8, "function"u8);
            w.WriteStartObject("function"u8);
            w.WriteString("name"u8, tool.GetProperty("name").GetString());
            if (tool.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String) w.WriteString("description"u8, d.GetString());
            w.WritePropertyName("parameters"u8);
            schema.WriteTo(w);
            w.WriteEndObject();
            w.WriteEndObject();
            i++;
        }
        w.WriteEndArray();
        return null;
    }

    private static GatewayError? WriteToolChoice(Utf8JsonWriter w, JsonElement choice)
    {
        if (choice.ValueKind != JsonValueKind.Object || !choice.TryGetProperty("type", out var type))
            return GatewayError.BadRequest("tool_choice: must be an object with a 'type'.", "invalid_tool_choice");
        switch (type.GetString())
        {
            case "auto": w.WriteString("tool_choice"u8, "auto"u8); break;
            case "any": w.WriteString("tool_choice"u8, "required"u8); break;
            case "none": w.WriteString("tool_choice"u8, "none"u8); break;
            case "tool":
                w.WriteStartObject("tool_choice"u8);
                w.WriteString("type"u8, "function"u8);
                w.WriteStartObject("function"u8);
                w.WriteString("name"u8, choice.GetProperty("name").GetString());
                w.WriteEndObject();
                w.WriteEndObject();
                break;
            default:
                return GatewayError.BadRequest($"tool_choice.type: unknown value '{type.GetString()}'.", "invalid_tool_choice");
        }
        if (choice.TryGetProperty("disable_parallel_tool_use", out var disable) && disable.ValueKind == JsonValueKind.True)
            w.WriteBoolean("parallel_tool_calls"u8, false);
        return null;
    }

    private static void CopyNumber(Utf8JsonWriter w, JsonElement root, string name, ReadOnlySpan<byte> target)
    {
        if (root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number)
        {
            w.WritePropertyName(target);
            value.WriteTo(w);
        }
    }

    private static string JoinText(JsonElement blocks)
    {
        if (blocks.ValueKind != JsonValueKind.Array) return "";
        var text = new StringBuilder();
        foreach (var block in blocks.EnumerateArray())
            if (block.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
            {
                if (text.Length > 0) text.Append('\n');
                text.Append(t.GetString());
            }
        return text.ToString();
    }
}
