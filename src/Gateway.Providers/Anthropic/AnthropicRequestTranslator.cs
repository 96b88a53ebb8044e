using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Core.Errors;
using Gateway.Core.Protocol;

namespace Gateway.Providers.Anthropic;

/// <summary>
/// An Anthropic Messages request (what <c>/v1/messages</c> receives) as the canonical request:
/// system hoisted into a system message, content blocks into parts, <c>tool_use</c> into
/// <c>tool_calls</c> (arguments as a JSON string), <c>tool_result</c> into <c>tool</c> messages placed
/// right after the assistant turn that asked. Fields with no canonical place are reported in
/// <c>dropped</c> so the caller can log them; nothing is silently lost.
/// </summary>
public static class AnthropicRequestTranslator
{
    private static readonly string[] DroppedFields = ["top_k", "thinking", "service_tier", "container", "mcp_servers", "context_management"];

    /// <summary>Translates and writes the OpenAI JSON of the canonical request.</summary>
    /// <param name="maxCompletionTokens">Name the limit <c>max_completion_tokens</c> (OpenAI) instead of <c>max_tokens</c> (most compatible servers).</param>
    public static GatewayError? Translate(ReadOnlyMemory<byte> body, string upstreamModel, bool maxCompletionTokens, IBufferWriter<byte> output, List<string> dropped)
    {
        if (ToCanonical(body, upstreamModel, maxCompletionTokens, dropped, out var request) is { } error) return error;
        using var w = new Utf8JsonWriter(output);
        JsonSerializer.Serialize(w, request, ProtocolJson.Default.ChatRequest);
        return null;
    }

    /// <param name="body">The client's Anthropic request.</param>
    /// <param name="upstreamModel">The provider's model id.</param>
    /// <param name="maxCompletionTokens">Set <see cref="ChatRequest.MaxCompletionTokens"/> rather than <see cref="ChatRequest.MaxTokens"/>.</param>
    /// <param name="dropped">Names of fields that had no canonical equivalent.</param>
    /// <param name="request">The canonical request.</param>
    public static GatewayError? ToCanonical(ReadOnlyMemory<byte> body, string upstreamModel, bool maxCompletionTokens, List<string> dropped, out ChatRequest request)
    {
        try
        {
            return ToCanonicalUnguarded(body, upstreamModel, maxCompletionTokens, dropped, out request);
        }
        catch (Exception ex) when (Http.JsonShape.IsMismatch(ex))
        {
            request = null!;
            return Http.JsonShape.InvalidRequest(ex);
        }
    }

    private static GatewayError? ToCanonicalUnguarded(ReadOnlyMemory<byte> body, string upstreamModel, bool maxCompletionTokens, List<string> dropped, out ChatRequest request)
    {
        request = new ChatRequest { Model = upstreamModel };
        if (Http.JsonShape.ParseRequest(body, out var document) is { } notJson) return notJson;
        using (document)
        {
            var root = document.RootElement;
            if (!root.TryGetProperty("max_tokens", out var maxTokens) || maxTokens.ValueKind != JsonValueKind.Number || !maxTokens.TryGetInt32(out int max) || max < 1)
                return GatewayError.BadRequest("max_tokens: Field required (a positive integer).", "missing_max_tokens");
            if (maxCompletionTokens) request.MaxCompletionTokens = max;
            else request.MaxTokens = max;

            if (root.TryGetProperty("system", out var system))
            {
                string text = system.ValueKind == JsonValueKind.String ? system.GetString()! : JoinText(system);
                if (text.Length > 0) request.Messages.Add(new ChatMessage { Role = ChatRoles.System, Content = MessageContent.FromText(text) });
            }
            int index = 0;
            foreach (var message in root.GetProperty("messages").EnumerateArray()) // presence and type checked by RequestInspector
            {
                if (AddMessage(request.Messages, message, index++, dropped) is { } error) return error;
            }

            request.Temperature = Number(root, "temperature");
            request.TopP = Number(root, "top_p");
            if (root.TryGetProperty("stop_sequences", out var stops) && stops.ValueKind == JsonValueKind.Array && stops.GetArrayLength() > 0)
                request.Stop = [.. stops.EnumerateArray().Select(s => s.GetString() ?? "")];
            if (root.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True)
            {
                // Anthropic streams always end with usage; the OpenAI side only sends it when asked.
                request.Stream = true;
                request.StreamOptions = new StreamOptions { IncludeUsage = true };
            }
            if (root.TryGetProperty("tools", out var tools) && tools.ValueKind == JsonValueKind.Array && tools.GetArrayLength() > 0)
            {
                request.Tools = Tools(tools, dropped);
                if (root.TryGetProperty("tool_choice", out var choice) && ReadToolChoice(request, choice) is { } choiceError) return choiceError;
            }
            if (root.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object
                && metadata.TryGetProperty("user_id", out var user) && user.ValueKind == JsonValueKind.String)
                request.User = user.GetString();

            if (root.TryGetProperty("output_config", out var outputConfig) && ReadOutputConfig(request, outputConfig, dropped) is { } outputError) return outputError;
            foreach (var field in DroppedFields)
                if (root.TryGetProperty(field, out _)) dropped.Add(field);
        }
        return null;
    }

    /// <summary>
    /// <c>output_config.format</c> (a JSON schema the answer must follow) as the canonical
    /// <c>response_format</c>, which every provider's translation knows; <c>effort</c> has no canonical
    /// place for every model and is reported dropped.
    /// </summary>
    private static GatewayError? ReadOutputConfig(ChatRequest request, JsonElement config, List<string> dropped)
    {
        if (config.ValueKind != JsonValueKind.Object)
            return GatewayError.BadRequest("output_config: must be an object.", "invalid_request");
        foreach (var property in config.EnumerateObject())
        {
            if (property.NameEquals("format"u8))
            {
                var format = property.Value;
                if (format.ValueKind == JsonValueKind.Null) continue;
                if (format.ValueKind != JsonValueKind.Object || !format.TryGetProperty("type", out var type) || !type.ValueEquals("json_schema"u8))
                    return GatewayError.BadRequest("output_config.format: the only format is {\"type\": \"json_schema\", \"schema\": {...}}.", "invalid_request");
                if (!format.TryGetProperty("schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
                    return GatewayError.BadRequest("output_config.format.schema: a JSON schema object is required.", "invalid_request");
                request.ResponseFormat = new ResponseFormat
                {
                    Type = ResponseFormat.JsonSchemaType,
                    JsonSchema = new JsonSchemaFormat { Name = "output", Schema = schema.Clone() },
                };
            }
            else
            {
                dropped.Add("output_config." + property.Name);
            }
        }
        return null;
    }

    private static GatewayError? AddMessage(List<ChatMessage> messages, JsonElement message, int index, List<string> dropped)
    {
        if (message.ValueKind != JsonValueKind.Object || !message.TryGetProperty("role", out var roleElement) || !message.TryGetProperty("content", out var content))
            return GatewayError.BadRequest($"messages.{index}: each message needs 'role' and 'content'.", "invalid_messages");
        string? role = roleElement.ValueKind == JsonValueKind.String ? roleElement.GetString() : null;
        if (role is not (ChatRoles.User or ChatRoles.Assistant))
            return GatewayError.BadRequest($"messages.{index}.role: must be \"user\" or \"assistant\" (system text goes in the top-level 'system').", "invalid_messages");

        if (content.ValueKind == JsonValueKind.String)
        {
            messages.Add(new ChatMessage { Role = role, Content = MessageContent.FromText(content.GetString()!) });
            return null;
        }
        if (content.ValueKind != JsonValueKind.Array)
            return GatewayError.BadRequest($"messages.{index}.content: must be a string or an array of content blocks.", "invalid_messages");

        return role == ChatRoles.Assistant ? AddAssistant(messages, content, index, dropped) : AddUser(messages, content, index, dropped);
    }

    private static GatewayError? AddAssistant(List<ChatMessage> messages, JsonElement blocks, int index, List<string> dropped)
    {
        var text = new StringBuilder();
        var calls = new List<ToolCall>();
        foreach (var block in blocks.EnumerateArray())
        {
            string? type = Type(block);
            if (type == "text") text.Append(String(block, "text"));
            // Anthropic carries the input as an object; OpenAI carries arguments as a JSON string.
            else if (type == "tool_use")
                calls.Add(ToolCall.Of(String(block, "id"), String(block, "name"), block.TryGetProperty("input", out var input) ? input.GetRawText() : "{}"));
            else if (type is "thinking" or "redacted_thinking") dropped.Add($"messages.{index}.content.{type}");
            else return GatewayError.BadRequest($"messages.{index}.content: block type '{type}' is not supported in an assistant turn.", "invalid_messages");
        }
        messages.Add(new ChatMessage
        {
            Role = ChatRoles.Assistant,
            Content = text.Length > 0 ? MessageContent.FromText(text.ToString()) : null,
            ToolCalls = calls.Count > 0 ? calls : null,
        });
        return null;
    }

    private static GatewayError? AddUser(List<ChatMessage> messages, JsonElement blocks, int index, List<string> dropped)
    {
        // Tool results first: OpenAI wants each "tool" message right after the assistant's tool_calls.
        foreach (var block in blocks.EnumerateArray())
        {
            if (Type(block) != "tool_result") continue;
            string result = !block.TryGetProperty("content", out var c) ? "" : c.ValueKind == JsonValueKind.String ? c.GetString()! : JoinText(c);
            if (block.TryGetProperty("is_error", out var isError) && isError.ValueKind == JsonValueKind.True) result = "Error: " + result;
            messages.Add(new ChatMessage { Role = ChatRoles.Tool, ToolCallId = String(block, "tool_use_id"), Content = MessageContent.FromText(result) });
        }

        var parts = new List<ContentPart>();
        foreach (var block in blocks.EnumerateArray())
        {
            switch (Type(block))
            {
                case "text":
                    parts.Add(ContentPart.FromText(String(block, "text")));
                    break;
                case "image":
                    var source = block.TryGetProperty("source", out var s) && s.ValueKind == JsonValueKind.Object ? s : default;
                    string? url = source.ValueKind != JsonValueKind.Object ? null
                        : Type(source) == "base64" ? $"data:{String(source, "media_type")};base64,{String(source, "data")}"
                        : source.TryGetProperty("url", out var u) && u.ValueKind == JsonValueKind.String ? u.GetString() : null;
                    if (url is null) return GatewayError.BadRequest($"messages.{index}.content: an image needs a base64 or url source.", "invalid_messages");
                    parts.Add(new ContentPart { Type = ContentPart.ImageType, ImageUrl = new ImageUrl { Url = url } });
                    break;
                case "tool_result":
                    break;
                case "document":
                    dropped.Add($"messages.{index}.content.document");
                    break;
                case var type:
                    return GatewayError.BadRequest($"messages.{index}.content: block type '{type}' is not supported in a user turn.", "invalid_messages");
            }
        }
        if (parts.Count > 0) messages.Add(new ChatMessage { Role = ChatRoles.User, Content = MessageContent.FromParts(parts) });
        return null;
    }

    private static List<ToolDefinition> Tools(JsonElement tools, List<string> dropped)
    {
        var list = new List<ToolDefinition>();
        int i = 0;
        foreach (var tool in tools.EnumerateArray())
        {
            if (!tool.TryGetProperty("input_schema", out var schema))
            {
                // Anthropic server tools (web search, code execution, ...) run at Anthropic; no OpenAI equivalent.
                dropped.Add($"tools.{i++}({Type(tool) ?? "?"})");
                continue;
            }
            list.Add(new ToolDefinition
            {
                Function = new FunctionDefinition
                {
                    Name = String(tool, "name"),
                    Description = tool.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null,
                    Parameters = schema.Clone(),
                },
            });
            i++;
        }
        return list;
    }

    private static GatewayError? ReadToolChoice(ChatRequest request, JsonElement choice)
    {
        if (choice.ValueKind != JsonValueKind.Object || !choice.TryGetProperty("type", out var type))
            return GatewayError.BadRequest("tool_choice: must be an object with a 'type'.", "invalid_tool_choice");
        request.ToolChoice = type.GetString() switch
        {
            "auto" => new ToolChoice(ToolChoice.Auto),
            "any" => new ToolChoice(ToolChoice.Required),
            "none" => new ToolChoice(ToolChoice.None),
            "tool" => ToolChoice.ForFunction(String(choice, "name")),
            _ => null,
        };
        if (request.ToolChoice is null) return GatewayError.BadRequest($"tool_choice.type: unknown value '{type}'.", "invalid_tool_choice");
        if (choice.TryGetProperty("disable_parallel_tool_use", out var disable) && disable.ValueKind == JsonValueKind.True) request.ParallelToolCalls = false;
        return null;
    }

    private static string? Type(JsonElement element) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;

    private static string String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";

    private static double? Number(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;

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
