using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Core.Errors;
using Gateway.Core.Protocol;

namespace Gateway.Providers.OpenAI;

/// <summary>
/// An OpenAI Responses API request (what <c>/v1/responses</c> receives) as the canonical Chat Completions
/// request, for providers that do not speak it: <c>instructions</c> into a system message, <c>input</c> (text or
/// items) into messages, <c>function_call</c> items into an assistant turn's <c>tool_calls</c> and
/// <c>function_call_output</c> items into <c>tool</c> messages, flat function tools into chat's nested ones,
/// <c>text.format</c> into <c>response_format</c>, <c>max_output_tokens</c> and <c>reasoning.effort</c> into their
/// chat names. State the gateway does not keep (<c>previous_response_id</c>, <c>conversation</c>, item
/// references, <c>store: true</c>) is a 400; fields with no canonical place are named in <c>dropped</c>.
/// </summary>
public static class ResponsesRequestTranslator
{
    /// <summary>Translates and writes the OpenAI JSON of the canonical request.</summary>
    public static GatewayError? Translate(ReadOnlyMemory<byte> body, string model, IBufferWriter<byte> output, List<string> dropped)
    {
        if (ToCanonical(body, model, dropped, out var request) is { } error) return error;
        using var w = new Utf8JsonWriter(output);
        JsonSerializer.Serialize(w, request, ProtocolJson.Default.ChatRequest);
        return null;
    }

    public static GatewayError? ToCanonical(ReadOnlyMemory<byte> body, string model, List<string> dropped, out ChatRequest request)
    {
        try
        {
            return ToCanonicalUnguarded(body, model, dropped, out request);
        }
        catch (ResponsesRequestException ex)
        {
            request = null!;
            return GatewayError.BadRequest(ex.Message, ex.Code);
        }
        catch (Exception ex) when (Http.JsonShape.IsMismatch(ex))
        {
            request = null!;
            return Http.JsonShape.InvalidRequest(ex);
        }
    }

    private static GatewayError? ToCanonicalUnguarded(ReadOnlyMemory<byte> body, string model, List<string> dropped, out ChatRequest request)
    {
        request = new ChatRequest { Model = model };
        if (Http.JsonShape.ParseRequest(body, out var parsed) is { } notJson) return notJson;
        using var document = parsed;
        var root = document.RootElement;
        foreach (var stateful in (ReadOnlySpan<string>)["previous_response_id", "conversation"])
            if (root.TryGetProperty(stateful, out var state) && state.ValueKind is not JsonValueKind.Null)
                return GatewayError.BadRequest($"'{stateful}' needs a provider that keeps responses (OpenAI itself): this model is served through a translation, and the gateway keeps no responses. Send the whole conversation in 'input' instead.", "unsupported_parameter");
        // Asked for explicitly, storing is refused rather than silently not done; left out (OpenAI's default) or false, nothing is stored.
        if (root.TryGetProperty("store", out var store) && store.ValueKind == JsonValueKind.True)
            return GatewayError.BadRequest("'store': true needs a provider that keeps responses (OpenAI itself): this model is served through a translation, and the gateway keeps no responses. Send 'store': false or leave it out.", "unsupported_parameter");

        if (root.TryGetProperty("instructions", out var instructions) && instructions.ValueKind == JsonValueKind.String && instructions.GetString() is { Length: > 0 } system)
            request.Messages.Add(new ChatMessage { Role = ChatRoles.System, Content = MessageContent.FromText(system) });
        if (!root.TryGetProperty("input", out var input)) throw new ResponsesRequestException("'input' is required.", "missing_input");
        if (input.ValueKind == JsonValueKind.String) request.Messages.Add(new ChatMessage { Role = ChatRoles.User, Content = MessageContent.FromText(input.GetString()!) });
        else if (input.ValueKind == JsonValueKind.Array)
        {
            int index = 0;
            foreach (var item in input.EnumerateArray()) AddItem(request.Messages, item, index++, dropped);
        }
        else throw new ResponsesRequestException("'input' must be a string or an array of items.", "invalid_input");
        if (!request.Messages.Exists(m => m.Role != ChatRoles.System && m.Role != ChatRoles.Developer))
            throw new ResponsesRequestException("'input' must hold at least one message.", "invalid_input");

        foreach (var property in root.EnumerateObject())
        {
            var value = property.Value;
            switch (property.Name)
            {
                case "model" or "input" or "instructions" or "previous_response_id" or "conversation" or "store": break;
                case "stream":
                    if (value.ValueKind == JsonValueKind.True)
                    {
                        request.Stream = true;
                        request.StreamOptions = new StreamOptions { IncludeUsage = true }; // a Responses stream always ends with its usage
                    }
                    break;
                case "max_output_tokens" when value.ValueKind == JsonValueKind.Number: request.MaxTokens = value.GetInt32(); break;
                case "temperature" when value.ValueKind == JsonValueKind.Number: request.Temperature = value.GetDouble(); break;
                case "top_p" when value.ValueKind == JsonValueKind.Number: request.TopP = value.GetDouble(); break;
                case "parallel_tool_calls" when value.ValueKind is JsonValueKind.True or JsonValueKind.False: request.ParallelToolCalls = value.GetBoolean(); break;
                case "user" or "safety_identifier" when value.ValueKind == JsonValueKind.String: request.User ??= value.GetString(); break;
                case "tools" when value.ValueKind == JsonValueKind.Array: request.Tools = Tools(value); break;
                case "tool_choice": request.ToolChoice = ToolChoiceOf(value); break;
                case "text" when value.ValueKind == JsonValueKind.Object: ReadText(request, value, dropped); break;
                case "reasoning" when value.ValueKind == JsonValueKind.Object:
                    foreach (var r in value.EnumerateObject())
                    {
                        if (r.NameEquals("effort"u8) && r.Value.ValueKind == JsonValueKind.String) request.ReasoningEffort = r.Value.GetString();
                        else if (r.Value.ValueKind != JsonValueKind.Null) dropped.Add("reasoning." + r.Name);
                    }
                    break;
                default:
                    if (value.ValueKind != JsonValueKind.Null) dropped.Add(property.Name);
                    break;
            }
        }
        return null;
    }

    private static void AddItem(List<ChatMessage> messages, JsonElement item, int index, List<string> dropped)
    {
        if (item.ValueKind != JsonValueKind.Object) throw new ResponsesRequestException($"input[{index}]: each item must be an object.", "invalid_input");
        string type = item.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "message";
        switch (type)
        {
            case "message":
                {
                    string role = item.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : "";
                    if (role is not (ChatRoles.User or ChatRoles.Assistant or ChatRoles.System or ChatRoles.Developer))
                        throw new ResponsesRequestException($"input[{index}].role: must be user, assistant, system or developer, not '{role}'.", "invalid_input");
                    if (!item.TryGetProperty("content", out var content)) throw new ResponsesRequestException($"input[{index}]: a message needs 'content'.", "invalid_input");
                    messages.Add(new ChatMessage { Role = role, Content = Content(content, index, role) });
                    return;
                }
            case "function_call":
                {
                    string callId = String(item, "call_id", index), name = String(item, "name", index);
                    string arguments = item.TryGetProperty("arguments", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString()! : "{}";
                    var call = ToolCall.Of(callId, name, arguments);
                    // Consecutive calls (parallel ones) share one assistant turn, as chat has them.
                    if (messages.Count > 0 && messages[^1] is { Role: ChatRoles.Assistant } last && (last.ToolCalls is not null || last.Text.Length > 0))
                        (last.ToolCalls ??= []).Add(call);
                    else
                        messages.Add(ChatMessage.FromAssistant("", null, [call]));
                    return;
                }
            case "function_call_output":
                {
                    string callId = String(item, "call_id", index);
                    string output = item.TryGetProperty("output", out var o) ? o.ValueKind == JsonValueKind.String ? o.GetString()! : OutputText(o, index) : "";
                    messages.Add(new ChatMessage { Role = ChatRoles.Tool, ToolCallId = callId, Content = MessageContent.FromText(output) });
                    return;
                }
            case "reasoning":
                // The provider's own reasoning from an earlier turn: encrypted or summarised, no other model can read it.
                dropped.Add($"input[{index}] (reasoning)");
                return;
            default:
                throw new ResponsesRequestException($"input[{index}]: a '{type}' item can only be sent to OpenAI itself (this model is served through a translation).", "unsupported_input");
        }
    }

    private static MessageContent Content(JsonElement content, int index, string role)
    {
        if (content.ValueKind == JsonValueKind.String) return MessageContent.FromText(content.GetString()!);
        if (content.ValueKind != JsonValueKind.Array) throw new ResponsesRequestException($"input[{index}].content: must be a string or an array of parts.", "invalid_input");
        var parts = new List<ContentPart>();
        foreach (var part in content.EnumerateArray())
        {
            string type = part.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
            switch (type)
            {
                case "input_text" or "output_text" or "text":
                    parts.Add(ContentPart.FromText(part.TryGetProperty("text", out var text) ? text.GetString() ?? "" : ""));
                    break;
                case "refusal":
                    parts.Add(ContentPart.FromText(part.TryGetProperty("refusal", out var refusal) ? refusal.GetString() ?? "" : ""));
                    break;
                case "input_image" when role == ChatRoles.User:
                    if (!part.TryGetProperty("image_url", out var url) || url.ValueKind != JsonValueKind.String)
                        throw new ResponsesRequestException($"input[{index}].content: an input_image needs an image_url (a file_id can only be sent to OpenAI itself).", "unsupported_content");
                    parts.Add(new ContentPart
                    {
                        Type = ContentPart.ImageType,
                        ImageUrl = new ImageUrl { Url = url.GetString()!, Detail = part.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null },
                    });
                    break;
                default:
                    throw new ResponsesRequestException($"input[{index}].content: a '{type}' part cannot be sent through a translation.", "unsupported_content");
            }
        }
        return parts.TrueForAll(p => p.Type == ContentPart.TextType)
            ? MessageContent.FromText(string.Concat(parts.Select(p => p.Text)))
            : MessageContent.FromParts(parts);
    }

    /// <summary>A function_call_output given as content parts: its text.</summary>
    private static string OutputText(JsonElement output, int index)
    {
        if (output.ValueKind != JsonValueKind.Array) return output.GetRawText();
        var text = new StringBuilder();
        foreach (var part in output.EnumerateArray())
        {
            if (!part.TryGetProperty("text", out var t) || t.ValueKind != JsonValueKind.String)
                throw new ResponsesRequestException($"input[{index}].output: only text parts can be sent through a translation.", "unsupported_content");
            text.Append(t.GetString());
        }
        return text.ToString();
    }

    private static string String(JsonElement item, string name, int index) =>
        item.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } s
            ? s
            : throw new ResponsesRequestException($"input[{index}]: '{name}' is required.", "invalid_input");

    private static List<ToolDefinition> Tools(JsonElement tools)
    {
        var list = new List<ToolDefinition>();
        foreach (var tool in tools.EnumerateArray())
        {
            string type = tool.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
            if (type != "function")
                throw new ResponsesRequestException($"tools: a '{type}' tool can only be used with OpenAI itself; function tools can go anywhere.", "unsupported_tool");
            var function = new FunctionDefinition
            {
                Name = tool.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : throw new ResponsesRequestException("tools: a function tool needs a name.", "invalid_tools"),
                Description = tool.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null,
                Parameters = tool.TryGetProperty("parameters", out var p) && p.ValueKind == JsonValueKind.Object ? p.Clone() : null,
                Strict = tool.TryGetProperty("strict", out var s) && s.ValueKind is JsonValueKind.True or JsonValueKind.False ? s.GetBoolean() : null,
            };
            list.Add(new ToolDefinition { Function = function });
        }
        return list;
    }

    private static ToolChoice? ToolChoiceOf(JsonElement choice) => choice.ValueKind switch
    {
        JsonValueKind.String => choice.GetString() switch
        {
            "auto" => new ToolChoice(ToolChoice.Auto),
            "none" => new ToolChoice(ToolChoice.None),
            "required" => new ToolChoice(ToolChoice.Required),
            var other => throw new ResponsesRequestException($"tool_choice: '{other}' is not auto, none or required.", "invalid_tool_choice"),
        },
        JsonValueKind.Object when choice.TryGetProperty("type", out var t) && t.ValueEquals("function"u8) && choice.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String
            => ToolChoice.ForFunction(n.GetString()!),
        JsonValueKind.Null => null,
        _ => throw new ResponsesRequestException("tool_choice: only auto, none, required or a function can be sent through a translation.", "invalid_tool_choice"),
    };

    private static void ReadText(ChatRequest request, JsonElement text, List<string> dropped)
    {
        foreach (var property in text.EnumerateObject())
        {
            if (!property.NameEquals("format"u8))
            {
                if (property.Value.ValueKind != JsonValueKind.Null) dropped.Add("text." + property.Name);
                continue;
            }
            var format = property.Value;
            string type = format.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "text";
            request.ResponseFormat = type switch
            {
                "text" => null,
                "json_object" => new ResponseFormat { Type = ResponseFormat.JsonObjectType },
                "json_schema" => new ResponseFormat
                {
                    Type = ResponseFormat.JsonSchemaType,
                    JsonSchema = new JsonSchemaFormat
                    {
                        Name = format.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : "response",
                        Description = format.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null,
                        Schema = format.TryGetProperty("schema", out var s) && s.ValueKind == JsonValueKind.Object
                            ? s.Clone()
                            : throw new ResponsesRequestException("text.format.schema: a JSON schema object is required.", "invalid_text_format"),
                        Strict = format.TryGetProperty("strict", out var st) && st.ValueKind is JsonValueKind.True or JsonValueKind.False ? st.GetBoolean() : null,
                    },
                },
                _ => throw new ResponsesRequestException($"text.format.type: '{type}' is not text, json_object or json_schema.", "invalid_text_format"),
            };
        }
    }
}

/// <summary>A Responses request the translation cannot make canonical: a 400 with this message and code.</summary>
internal sealed class ResponsesRequestException(string message, string code) : Exception(message)
{
    public string Code { get; } = code;
}
