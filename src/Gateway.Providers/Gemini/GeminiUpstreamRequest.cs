using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Core.Errors;
using Gateway.Core.Protocol;
using Gateway.Providers.OpenAI;

namespace Gateway.Providers.Gemini;

/// <summary>
/// An OpenAI Chat Completions request as a Gemini <c>generateContent</c> request: system messages into
/// <c>systemInstruction</c>, roles to user/model, tool calls to <c>functionCall</c> parts and tool
/// results to <c>functionResponse</c> parts (named after the call they answer), parameters into
/// <c>generationConfig</c>, and JSON schemas cut down to the subset Gemini's Schema accepts.
/// </summary>
public static class GeminiUpstreamRequest
{
    // Gemini's Schema: any other JSON-Schema keyword is rejected ("Unknown name ... Cannot find field").
    private static readonly HashSet<string> SchemaFields =
        ["type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties", "required", "minProperties",
         "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf", "propertyOrdering", "default", "items", "minimum", "maximum"];
    public static GatewayError? Translate(ChatRequest request, IBufferWriter<byte> output, List<string> dropped)
    {
        // Only the first candidate is translated back: asking for more would lose the rest silently.
        if (request.N is { } n && n != 1)
            return GatewayError.BadRequest("'n' other than 1 is not supported for Gemini models by this gateway.", "unsupported_parameter");
        var system = new StringBuilder();
        var toolNames = new Dictionary<string, string>(StringComparer.Ordinal);

        using var w = new Utf8JsonWriter(output);
        w.WriteStartObject();
        w.WriteStartArray("contents"u8);
        string? lastRole = null;
        for (int index = 0; index < request.Messages.Count; index++)
        {
            var message = request.Messages[index];
            if (ChatRoles.IsInstruction(message.Role))
            {
                if (system.Length > 0) system.Append("\n\n");
                system.Append(message.Text);
                continue;
            }
            string geminiRole = message.Role switch
            {
                ChatRoles.User or ChatRoles.Tool or ChatRoles.Function => "user",
                ChatRoles.Assistant => "model",
                _ => "",
            };
            if (geminiRole.Length == 0) return GatewayError.BadRequest($"messages[{index}].role: '{message.Role}' is not a role Gemini can take.", "invalid_messages");

            // Consecutive messages of one Gemini role (e.g. several tool results) share one content.
            if (geminiRole != lastRole)
            {
                if (lastRole is not null) { w.WriteEndArray(); w.WriteEndObject(); }
                w.WriteStartObject();
                w.WriteString("role"u8, geminiRole);
                w.WriteStartArray("parts"u8);
                lastRole = geminiRole;
            }
            if (WriteParts(w, message, index, toolNames) is { } error) return error;
        }
        if (lastRole is null) return GatewayError.BadRequest("Gemini needs at least one user or assistant message besides the system prompt.", "invalid_messages");
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndArray();

        if (system.Length > 0)
        {
            w.WriteStartObject("systemInstruction"u8);
            w.WriteStartArray("parts"u8);
            w.WriteStartObject();
            w.WriteString("text"u8, system.ToString());
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }

        if (request.Tools is { Count: > 0 } tools)
        {
            w.WriteStartArray("tools"u8);
            w.WriteStartObject();
            w.WriteStartArray("functionDeclarations"u8);
            foreach (var tool in tools)
            {
                if (tool.Function is not { } function)
                    return GatewayError.BadRequest("tools: only function tools can be sent to a Gemini model.", "unsupported_tool");
                w.WriteStartObject();
                w.WriteString("name"u8, function.Name);
                if (function.Strict == true) dropped.Add($"tools.strict ({function.Name}: Gemini has no strict schema mode)");
                if (function.Description is { } description) w.WriteString("description"u8, description);
                if (function.Parameters is { ValueKind: JsonValueKind.Object } parameters && HasProperties(parameters))
                {
                    w.WritePropertyName("parameters"u8);
                    WriteSchema(w, parameters, dropped, $"tools.{function.Name}");
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndArray();
            if (request.ToolChoice is { } choice) WriteToolChoice(w, choice);
        }

        w.WriteStartObject("generationConfig"u8);
        if (request.MaxOutputTokens is { } max) w.WriteNumber("maxOutputTokens"u8, max);
        if (request.Temperature is { } temperature) w.WriteNumber("temperature"u8, temperature);
        if (request.TopP is { } topP) w.WriteNumber("topP"u8, topP);
        if (request.Seed is { } seed) w.WriteNumber("seed"u8, seed);
        if (request.PresencePenalty is { } presence) w.WriteNumber("presencePenalty"u8, presence);
        if (request.FrequencyPenalty is { } frequency) w.WriteNumber("frequencyPenalty"u8, frequency);
        if (request.Stop is { Count: > 0 } stop)
        {
            w.WriteStartArray("stopSequences"u8);
            foreach (var s in stop) w.WriteStringValue(s);
            w.WriteEndArray();
        }
        if (request.ResponseFormat is { } format)
        {
            if (format.Type == ResponseFormat.JsonObjectType) w.WriteString("responseMimeType"u8, "application/json"u8);
            else if (format.Type == ResponseFormat.JsonSchemaType && format.JsonSchema?.Schema is { } schema)
            {
                w.WriteString("responseMimeType"u8, "application/json"u8);
                w.WritePropertyName("responseSchema"u8);
                WriteSchema(w, schema, dropped, "response_format");
            }
        }
        w.WriteEndObject();
        w.WriteEndObject();

        if (request.User is not null) dropped.Add("user");
        if (request.ParallelToolCalls is not null) dropped.Add("parallel_tool_calls");
        if (request.ReasoningEffort is not null) dropped.Add("reasoning_effort");
        request.AddExtraFieldNames(dropped);
        return null;
    }

    private static GatewayError? WriteParts(Utf8JsonWriter w, ChatMessage message, int index, Dictionary<string, string> toolNames)
    {
        if (ChatRoles.IsToolResult(message.Role))
        {
            string id = message.ToolCallId ?? "";
            string name = message.Name is { Length: > 0 } named ? named : toolNames.TryGetValue(id, out var known) ? known : "";
            if (name.Length == 0) return GatewayError.BadRequest($"messages[{index}]: the tool result answers no earlier tool call ('{id}').", "invalid_messages");
            string result = message.Text;
            w.WriteStartObject();
            w.WriteStartObject("functionResponse"u8);
            w.WriteString("name"u8, name);
            w.WriteStartObject("response"u8);
            // A JSON object result is passed as the object; anything else as {"result": text}.
            if (OpenAIContent.TryParseObject(result) is { } obj)
            {
                foreach (var property in obj.EnumerateObject()) property.WriteTo(w);
            }
            else
            {
                w.WriteString("result"u8, result);
            }
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            return null;
        }

        if (message.Content?.Text is { Length: > 0 } text)
            TextPart(w, text);
        foreach (var part in message.Content?.Parts ?? [])
        {
            if (part.Type == ContentPart.TextType) TextPart(w, part.Text ?? "");
            else if (part.Type == ContentPart.ImageType)
            {
                if (OpenAIContent.ReadImage(part, index, out var image) is { } error) return error;
                w.WriteStartObject();
                if (image.IsInline)
                {
                    w.WriteStartObject("inlineData"u8);
                    w.WriteString("mimeType"u8, image.MediaType);
                    w.WriteString("data"u8, image.Data);
                }
                else
                {
                    w.WriteStartObject("fileData"u8);
                    w.WriteString("fileUri"u8, image.Url);
                }
                w.WriteEndObject();
                w.WriteEndObject();
            }
            else return GatewayError.BadRequest($"messages[{index}].content: part type '{part.Type}' cannot be sent to a Gemini model.", "unsupported_content");
        }

        if (message.Role == ChatRoles.Assistant)
            foreach (var call in message.ToolCalls ?? [])
            {
                toolNames[call.Id] = call.Function.Name;
                if (OpenAIContent.ReadArguments(call, index, out var args) is { } error) return error;
                w.WriteStartObject();
                w.WriteStartObject("functionCall"u8);
                w.WriteString("name"u8, call.Function.Name);
                w.WritePropertyName("args"u8);
                args.WriteTo(w);
                w.WriteEndObject();
                if (GeminiToolIds.SignatureOf(call.Id) is { } signature) w.WriteString("thoughtSignature"u8, signature);
                w.WriteEndObject();
            }
        return null;
    }

    /// <summary>Copies a JSON schema keeping only what Gemini's Schema knows; the rest is named in <paramref name="dropped"/>.</summary>
    private static void WriteSchema(Utf8JsonWriter w, JsonElement schema, List<string> dropped, string path)
    {
        w.WriteStartObject();
        foreach (var property in schema.EnumerateObject())
        {
            if (!SchemaFields.Contains(property.Name))
            {
                dropped.Add($"{path}.{property.Name}");
                continue;
            }
            switch (property.Name)
            {
                case "type" when property.Value.ValueKind == JsonValueKind.Array:
                    // ["string","null"] -> "string" + nullable
                    var types = property.Value.EnumerateArray().Select(t => t.GetString()).ToArray();
                    if (types.FirstOrDefault(t => t != "null") is { } first) w.WriteString("type"u8, first);
                    if (types.Contains("null")) w.WriteBoolean("nullable"u8, true);
                    break;
                case "properties" when property.Value.ValueKind == JsonValueKind.Object:
                    w.WriteStartObject("properties"u8);
                    foreach (var child in property.Value.EnumerateObject())
                    {
                        w.WritePropertyName(child.Name);
                        WriteSchema(w, child.Value, dropped, $"{path}.{child.Name}");
                    }
                    w.WriteEndObject();
                    break;
                case "items" when property.Value.ValueKind == JsonValueKind.Object:
                    w.WritePropertyName("items"u8);
                    WriteSchema(w, property.Value, dropped, $"{path}.items");
                    break;
                case "anyOf" when property.Value.ValueKind == JsonValueKind.Array:
                    w.WriteStartArray("anyOf"u8);
                    foreach (var option in property.Value.EnumerateArray()) WriteSchema(w, option, dropped, $"{path}.anyOf");
                    w.WriteEndArray();
                    break;
                default:
                    property.WriteTo(w);
                    break;
            }
        }
        w.WriteEndObject();
    }

    private static void WriteToolChoice(Utf8JsonWriter w, ToolChoice choice)
    {
        string mode = choice switch
        {
            { FunctionName: not null } or { Mode: ToolChoice.Required } => "ANY",
            { Mode: ToolChoice.None } => "NONE",
            _ => "AUTO",
        };
        w.WriteStartObject("toolConfig"u8);
        w.WriteStartObject("functionCallingConfig"u8);
        w.WriteString("mode"u8, mode);
        if (choice.FunctionName is { } only)
        {
            w.WriteStartArray("allowedFunctionNames"u8);
            w.WriteStringValue(only);
            w.WriteEndArray();
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static bool HasProperties(JsonElement schema) =>
        !schema.TryGetProperty("properties", out var p) || p.ValueKind != JsonValueKind.Object || p.EnumerateObject().Any();

    private static void TextPart(Utf8JsonWriter w, string text)
    {
        w.WriteStartObject();
        w.WriteString("text"u8, text);
        w.WriteEndObject();
    }
}
