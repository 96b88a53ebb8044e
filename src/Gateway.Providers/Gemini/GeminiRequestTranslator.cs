using System.Buffers;
using System.Text.Json;
using Gateway.Core.Errors;
using Gateway.Core.Protocol;

namespace Gateway.Providers.Gemini;

/// <summary>
/// A Gemini <c>generateContent</c> request (what <c>/v1beta/models/{model}:generateContent</c> receives) as
/// the canonical request: <c>systemInstruction</c> into a system message, <c>model</c> turns into assistant
/// messages, <c>functionCall</c> parts into <c>tool_calls</c> (arguments as a JSON string) and
/// <c>functionResponse</c> parts into <c>tool</c> messages paired with the call they answer (by id, else by
/// name and order), Gemini <c>Schema</c>s (upper-case types, <c>nullable</c>) into JSON Schema, and
/// <c>generationConfig</c> into the canonical parameters. The model and the stream flag come from the URL.
/// Fields with no canonical place are named in <c>dropped</c>; what cannot be served is a 400.
/// </summary>
public static class GeminiRequestTranslator
{
    private static readonly string[] DroppedFields = ["safetySettings", "cachedContent", "labels"];

    /// <summary>Translates and writes the OpenAI JSON of the canonical request.</summary>
    /// <param name="model">The model as the client named it in the URL (a gateway model id).</param>
    /// <param name="stream">The client called <c>:streamGenerateContent</c>.</param>
    public static GatewayError? Translate(ReadOnlyMemory<byte> body, string model, bool stream, IBufferWriter<byte> output, List<string> dropped)
    {
        if (ToCanonical(body, model, stream, dropped, out var request) is { } error) return error;
        using var w = new Utf8JsonWriter(output);
        JsonSerializer.Serialize(w, request, ProtocolJson.Default.ChatRequest);
        return null;
    }

    public static GatewayError? ToCanonical(ReadOnlyMemory<byte> body, string model, bool stream, List<string> dropped, out ChatRequest request)
    {
        try
        {
            return ToCanonicalUnguarded(body, model, stream, dropped, out request);
        }
        catch (GeminiRequestException ex)
        {
            request = null!;
            return GatewayError.BadRequest(ex.Message, "invalid_request");
        }
        catch (Exception ex) when (Http.JsonShape.IsMismatch(ex))
        {
            request = null!;
            return Http.JsonShape.InvalidRequest(ex);
        }
    }

    private static GatewayError? ToCanonicalUnguarded(ReadOnlyMemory<byte> body, string model, bool stream, List<string> dropped, out ChatRequest request)
    {
        request = new ChatRequest { Model = model };
        if (Http.JsonShape.ParseRequest(body, out var document) is { } notJson) return notJson;
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return GatewayError.BadRequest("The request body must be a JSON object.", "invalid_request");
            if (root.TryGetProperty("systemInstruction", out var system) && system.ValueKind != JsonValueKind.Null)
            {
                if (Text(system, "systemInstruction") is { } text && text.Length > 0)
                    request.Messages.Add(new ChatMessage { Role = ChatRoles.System, Content = MessageContent.FromText(text) });
            }
            if (!root.TryGetProperty("contents", out var contents) || contents.ValueKind != JsonValueKind.Array || contents.GetArrayLength() == 0)
                return GatewayError.BadRequest("contents: at least one Content ({\"role\": \"user\", \"parts\": [...]}) is required.", "invalid_request");
            var calls = new ToolCallLedger();
            int index = 0;
            foreach (var content in contents.EnumerateArray())
            {
                if (AddContent(request.Messages, content, index++, calls, dropped) is { } error) return error;
            }

            if (root.TryGetProperty("tools", out var tools) && tools.ValueKind == JsonValueKind.Array && ReadTools(request, tools, dropped) is { } toolError)
                return toolError;
            if (root.TryGetProperty("toolConfig", out var toolConfig) && ReadToolConfig(request, toolConfig) is { } configError) return configError;
            if (root.TryGetProperty("generationConfig", out var generation) && generation.ValueKind == JsonValueKind.Object
                && ReadGenerationConfig(request, generation, dropped) is { } generationError)
                return generationError;
            if (stream)
            {
                // Gemini streams always report usage; the OpenAI side only sends it when asked.
                request.Stream = true;
                request.StreamOptions = new StreamOptions { IncludeUsage = true };
            }
            foreach (var field in DroppedFields)
                if (root.TryGetProperty(field, out _)) dropped.Add(field);
        }
        return null;
    }

    /// <summary>The model's calls in order, so that a response that names no id answers the first unanswered call of its name.</summary>
    private sealed class ToolCallLedger
    {
        private readonly List<(string Id, string Name, bool Answered)> _calls = [];

        public string Add(string? id, string name, string? signature, int turn)
        {
            string callId = id is { Length: > 0 } ? id : GeminiToolIds.Create(turn * 100 + _calls.Count, signature);
            _calls.Add((callId, name, false));
            return callId;
        }

        public string? Answer(string? id, string name)
        {
            int found = id is { Length: > 0 } ? _calls.FindIndex(c => c.Id == id && !c.Answered) : -1;
            if (found < 0) found = _calls.FindIndex(c => c.Name == name && !c.Answered);
            if (found < 0) return null;
            _calls[found] = _calls[found] with { Answered = true };
            return _calls[found].Id;
        }
    }

    private static GatewayError? AddContent(List<ChatMessage> messages, JsonElement content, int index, ToolCallLedger calls, List<string> dropped)
    {
        if (content.ValueKind != JsonValueKind.Object || !content.TryGetProperty("parts", out var parts) || parts.ValueKind != JsonValueKind.Array)
            return GatewayError.BadRequest($"contents[{index}]: each Content needs a 'parts' array.", "invalid_request");
        string role = content.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : "user";
        if (role is not ("user" or "model" or "function"))
            return GatewayError.BadRequest($"contents[{index}].role: must be \"user\" or \"model\", not \"{role}\".", "invalid_request");

        if (role == "model")
        {
            var text = new System.Text.StringBuilder();
            List<ToolCall>? toolCalls = null;
            foreach (var part in parts.EnumerateArray())
            {
                if (part.TryGetProperty("thought", out var thought) && thought.ValueKind == JsonValueKind.True) continue; // the model's own thinking is not sent back
                if (part.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String) text.Append(t.GetString());
                else if (part.TryGetProperty("functionCall", out var call) && call.ValueKind == JsonValueKind.Object)
                {
                    string name = call.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : "";
                    if (name.Length == 0) return GatewayError.BadRequest($"contents[{index}]: a functionCall needs a name.", "invalid_request");
                    string? id = call.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.String ? i.GetString() : null;
                    string? signature = part.TryGetProperty("thoughtSignature", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
                    string args = call.TryGetProperty("args", out var a) && a.ValueKind == JsonValueKind.Object ? a.GetRawText() : "{}";
                    (toolCalls ??= []).Add(ToolCall.Of(calls.Add(id, name, signature, index), name, args));
                }
                else if (UnknownPart(part) is { } kind) dropped.Add($"contents[{index}].parts.{kind}");
            }
            messages.Add(ChatMessage.FromAssistant(text.ToString(), null, toolCalls));
            return null;
        }

        // A user (or function) turn: its function responses become tool messages, in order, before the rest.
        var userParts = new List<ContentPart>();
        foreach (var part in parts.EnumerateArray())
        {
            if (part.TryGetProperty("functionResponse", out var response) && response.ValueKind == JsonValueKind.Object)
            {
                string name = response.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : "";
                string? id = response.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.String ? i.GetString() : null;
                string callId = calls.Answer(id, name)
                    ?? throw new GeminiRequestException($"contents[{index}]: the functionResponse '{name}' answers no earlier functionCall.");
                string result = response.TryGetProperty("response", out var value) ? value.GetRawText() : "{}";
                messages.Add(new ChatMessage { Role = ChatRoles.Tool, ToolCallId = callId, Content = MessageContent.FromText(result) });
            }
            else if (part.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
            {
                userParts.Add(ContentPart.FromText(t.GetString()!));
            }
            else if (part.TryGetProperty("inlineData", out var inline) && inline.ValueKind == JsonValueKind.Object)
            {
                string mime = inline.TryGetProperty("mimeType", out var m) ? m.GetString() ?? "" : "";
                string data = inline.TryGetProperty("data", out var d) ? d.GetString() ?? "" : "";
                if (!mime.StartsWith("image/", StringComparison.Ordinal))
                    return GatewayError.BadRequest($"contents[{index}]: inline data of type '{mime}' can only be sent to a Gemini model; images can go anywhere.", "unsupported_content");
                userParts.Add(new ContentPart { Type = ContentPart.ImageType, ImageUrl = new ImageUrl { Url = $"data:{mime};base64,{data}" } });
            }
            else if (part.TryGetProperty("fileData", out var file) && file.ValueKind == JsonValueKind.Object)
            {
                string mime = file.TryGetProperty("mimeType", out var m) ? m.GetString() ?? "" : "";
                string uri = file.TryGetProperty("fileUri", out var u) ? u.GetString() ?? "" : "";
                if (mime.Length > 0 && !mime.StartsWith("image/", StringComparison.Ordinal))
                    return GatewayError.BadRequest($"contents[{index}]: a file of type '{mime}' can only be sent to a Gemini model; images can go anywhere.", "unsupported_content");
                userParts.Add(new ContentPart { Type = ContentPart.ImageType, ImageUrl = new ImageUrl { Url = uri } });
            }
            else if (UnknownPart(part) is { } kind)
            {
                return GatewayError.BadRequest($"contents[{index}]: a '{kind}' part can only be sent to a Gemini model.", "unsupported_content");
            }
        }
        if (userParts.Count > 0)
        {
            messages.Add(new ChatMessage
            {
                Role = ChatRoles.User,
                Content = userParts.TrueForAll(p => p.Type == ContentPart.TextType)
                    ? MessageContent.FromText(string.Concat(userParts.Select(p => p.Text)))
                    : MessageContent.FromParts(userParts),
            });
        }
        return null;
    }

    /// <summary>The name of a part that is neither text, data nor a function call or response; null for an empty part.</summary>
    private static string? UnknownPart(JsonElement part)
    {
        foreach (var property in part.EnumerateObject())
            if (property.Name is not ("thought" or "thoughtSignature" or "text" or "metadata" or "videoMetadata" or "partMetadata")) return property.Name;
        return null;
    }

    private static string Text(JsonElement content, string where)
    {
        if (content.ValueKind == JsonValueKind.String) return content.GetString()!;
        if (content.ValueKind != JsonValueKind.Object || !content.TryGetProperty("parts", out var parts) || parts.ValueKind != JsonValueKind.Array)
            throw new GeminiRequestException($"{where}: a Content with 'parts' is required.");
        var text = new System.Text.StringBuilder();
        foreach (var part in parts.EnumerateArray())
        {
            if (!part.TryGetProperty("text", out var t) || t.ValueKind != JsonValueKind.String)
                throw new GeminiRequestException($"{where}: only text parts can be a system instruction.");
            if (text.Length > 0) text.Append('\n');
            text.Append(t.GetString());
        }
        return text.ToString();
    }

    private static GatewayError? ReadTools(ChatRequest request, JsonElement tools, List<string> dropped)
    {
        foreach (var tool in tools.EnumerateArray())
        {
            if (tool.ValueKind != JsonValueKind.Object) return GatewayError.BadRequest("tools: each Tool must be an object.", "invalid_request");
            foreach (var property in tool.EnumerateObject())
            {
                if (!property.NameEquals("functionDeclarations"u8))
                    return GatewayError.BadRequest($"tools: a '{property.Name}' tool can only be used with a Gemini model; function declarations can go anywhere.", "unsupported_tool");
                foreach (var declaration in property.Value.EnumerateArray())
                {
                    string name = declaration.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : "";
                    if (name.Length == 0) return GatewayError.BadRequest("tools.functionDeclarations: each declaration needs a name.", "invalid_request");
                    var function = new FunctionDefinition { Name = name };
                    if (declaration.TryGetProperty("description", out var description) && description.ValueKind == JsonValueKind.String)
                        function.Description = description.GetString();
                    if (declaration.TryGetProperty("parametersJsonSchema", out var jsonSchema) && jsonSchema.ValueKind == JsonValueKind.Object)
                        function.Parameters = jsonSchema.Clone();
                    else if (declaration.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Object)
                        function.Parameters = JsonSchemaOf(parameters);
                    foreach (var other in declaration.EnumerateObject())
                        if (other.Name is not ("name" or "description" or "parameters" or "parametersJsonSchema")) dropped.Add($"tools.{name}.{other.Name}");
                    (request.Tools ??= []).Add(new ToolDefinition { Function = function });
                }
            }
        }
        return null;
    }

    private static GatewayError? ReadToolConfig(ChatRequest request, JsonElement config)
    {
        if (config.ValueKind != JsonValueKind.Object || !config.TryGetProperty("functionCallingConfig", out var calling) || calling.ValueKind != JsonValueKind.Object)
            return null;
        string mode = calling.TryGetProperty("mode", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : "AUTO";
        string[] allowed = calling.TryGetProperty("allowedFunctionNames", out var names) && names.ValueKind == JsonValueKind.Array
            ? [.. names.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!)]
            : [];
        request.ToolChoice = mode switch
        {
            "NONE" => new ToolChoice(ToolChoice.None),
            "ANY" or "VALIDATED" when allowed.Length == 1 => ToolChoice.ForFunction(allowed[0]),
            "ANY" or "VALIDATED" => new ToolChoice(ToolChoice.Required),
            "AUTO" or "MODE_UNSPECIFIED" => new ToolChoice(ToolChoice.Auto),
            _ => null,
        };
        return request.ToolChoice is null && mode is not ("AUTO" or "MODE_UNSPECIFIED")
            ? GatewayError.BadRequest($"toolConfig.functionCallingConfig.mode: '{mode}' is not a mode (AUTO, ANY, NONE, VALIDATED).", "invalid_request")
            : null;
    }

    private static GatewayError? ReadGenerationConfig(ChatRequest request, JsonElement config, List<string> dropped)
    {
        string? mime = null;
        JsonElement? schema = null, jsonSchema = null;
        foreach (var property in config.EnumerateObject())
        {
            var value = property.Value;
            switch (property.Name)
            {
                case "maxOutputTokens" when value.TryGetInt32(out int max): request.MaxTokens = max; break;
                case "temperature" when value.ValueKind == JsonValueKind.Number: request.Temperature = value.GetDouble(); break;
                case "topP" when value.ValueKind == JsonValueKind.Number: request.TopP = value.GetDouble(); break;
                case "seed" when value.ValueKind == JsonValueKind.Number: request.Seed = value.GetInt64(); break;
                case "presencePenalty" when value.ValueKind == JsonValueKind.Number: request.PresencePenalty = value.GetDouble(); break;
                case "frequencyPenalty" when value.ValueKind == JsonValueKind.Number: request.FrequencyPenalty = value.GetDouble(); break;
                case "stopSequences" when value.ValueKind == JsonValueKind.Array:
                    request.Stop = [.. value.EnumerateArray().Select(s => s.GetString() ?? "")];
                    break;
                case "candidateCount" when value.TryGetInt32(out int count):
                    if (count != 1) return GatewayError.BadRequest("generationConfig.candidateCount: only 1 is supported by this gateway.", "unsupported_parameter");
                    break;
                case "responseMimeType" when value.ValueKind == JsonValueKind.String: mime = value.GetString(); break;
                case "responseSchema" when value.ValueKind == JsonValueKind.Object: schema = value; break;
                case "responseJsonSchema" or "response_json_schema" when value.ValueKind == JsonValueKind.Object: jsonSchema = value; break;
                default:
                    if (value.ValueKind != JsonValueKind.Null) dropped.Add("generationConfig." + property.Name);
                    break;
            }
        }
        if (mime == "application/json")
        {
            var format = jsonSchema?.Clone() ?? (schema is { } s ? JsonSchemaOf(s) : null);
            request.ResponseFormat = format is { } f
                ? new ResponseFormat { Type = ResponseFormat.JsonSchemaType, JsonSchema = new JsonSchemaFormat { Name = "response", Schema = f } }
                : new ResponseFormat { Type = ResponseFormat.JsonObjectType };
        }
        else if (mime is not null && mime != "text/plain")
        {
            dropped.Add($"generationConfig.responseMimeType ({mime})");
        }
        return null;
    }

    /// <summary>A Gemini <c>Schema</c> as JSON Schema: upper-case types lower-cased, <c>nullable</c> as a union with null, Gemini-only keys left out.</summary>
    public static JsonElement JsonSchemaOf(JsonElement schema)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer)) WriteJsonSchema(w, schema);
        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }

    private static void WriteJsonSchema(Utf8JsonWriter w, JsonElement schema)
    {
        if (schema.ValueKind != JsonValueKind.Object)
        {
            schema.WriteTo(w);
            return;
        }
        bool nullable = schema.TryGetProperty("nullable", out var n) && n.ValueKind == JsonValueKind.True;
        w.WriteStartObject();
        foreach (var property in schema.EnumerateObject())
        {
            switch (property.Name)
            {
                case "nullable" or "propertyOrdering" or "example":
                    break;
                case "type" when property.Value.ValueKind == JsonValueKind.String:
                    string type = property.Value.GetString()!.ToLowerInvariant();
                    if (type == "type_unspecified") break;
                    if (nullable)
                    {
                        w.WriteStartArray("type"u8);
                        w.WriteStringValue(type);
                        w.WriteStringValue("null"u8);
                        w.WriteEndArray();
                    }
                    else w.WriteString("type"u8, type);
                    break;
                case "properties" when property.Value.ValueKind == JsonValueKind.Object:
                    w.WriteStartObject("properties"u8);
                    foreach (var child in property.Value.EnumerateObject())
                    {
                        w.WritePropertyName(child.Name);
                        WriteJsonSchema(w, child.Value);
                    }
                    w.WriteEndObject();
                    break;
                case "items":
                    w.WritePropertyName("items"u8);
                    WriteJsonSchema(w, property.Value);
                    break;
                case "anyOf" when property.Value.ValueKind == JsonValueKind.Array:
                    w.WriteStartArray("anyOf"u8);
                    foreach (var option in property.Value.EnumerateArray()) WriteJsonSchema(w, option);
                    w.WriteEndArray();
                    break;
                case "minItems" or "maxItems" or "minLength" or "maxLength" or "minProperties" or "maxProperties"
                    when property.Value.ValueKind == JsonValueKind.String && long.TryParse(property.Value.GetString(), out long number):
                    // Gemini's int64 fields may come as strings (proto JSON); JSON Schema wants numbers.
                    w.WriteNumber(property.Name, number);
                    break;
                default:
                    property.WriteTo(w);
                    break;
            }
        }
        w.WriteEndObject();
    }
}

/// <summary>A request the translation cannot make canonical, found deep inside it: a 400 with this message.</summary>
internal sealed class GeminiRequestException(string message) : Exception(message);
