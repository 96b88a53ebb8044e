using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Core.Errors;
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
    private static readonly string[] DroppedFields = ["logit_bias", "logprobs", "top_logprobs", "user", "parallel_tool_calls", "service_tier", "store", "modalities", "reasoning_effort"];

    public static GatewayError? Translate(ReadOnlyMemory<byte> openAiBody, IBufferWriter<byte> output, List<string> dropped)
    {
        using var document = JsonDocument.Parse(openAiBody, new JsonDocumentOptions { MaxDepth = 256 });
        var root = document.RootElement;
        // Only the first candidate is translated back: asking for more would lose the rest silently.
        if (root.TryGetProperty("n", out var n) && n.ValueKind == JsonValueKind.Number && n.GetInt32() != 1)
            return GatewayError.BadRequest("'n' other than 1 is not supported for Gemini models by this gateway.", "unsupported_parameter");
        var system = new StringBuilder();
        var toolNames = new Dictionary<string, string>(StringComparer.Ordinal);

        using var w = new Utf8JsonWriter(output);
        w.WriteStartObject();
        w.WriteStartArray("contents"u8);
        string? lastRole = null;
        int index = 0;
        foreach (var message in root.GetProperty("messages").EnumerateArray())
        {
            string role = message.TryGetProperty("role", out var r) ? r.GetString() ?? "" : "";
            var content = message.TryGetProperty("content", out var c) ? c : default;
            if (role is "system" or "developer")
            {
                if (system.Length > 0) system.Append("\n\n");
                system.Append(OpenAIContent.Text(content));
                index++;
                continue;
            }
            string geminiRole = role switch
            {
                "user" or "tool" or "function" => "user",
                "assistant" => "model",
                _ => "",
            };
            if (geminiRole.Length == 0) return GatewayError.BadRequest($"messages[{index}].role: '{role}' is not a role Gemini can take.", "invalid_messages");

            // Consecutive messages of one Gemini role (e.g. several tool results) share one content.
            if (geminiRole != lastRole)
            {
                if (lastRole is not null) { w.WriteEndArray(); w.WriteEndObject(); }
                w.WriteStartObject();
                w.WriteString("role"u8, geminiRole);
                w.WriteStartArray("parts"u8);
                lastRole = geminiRole;
            }
            if (WriteParts(w, role, message, content, index, toolNames) is { } error) return error;
            index++;
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

        if (root.TryGetProperty("tools", out var tools) && tools.ValueKind == JsonValueKind.Array && tools.GetArrayLength() > 0)
        {
            w.WriteStartArray("tools"u8);
            w.WriteStartObject();
            w.WriteStartArray("functionDeclarations"u8);
            foreach (var tool in tools.EnumerateArray())
            {
                if (!tool.TryGetProperty("function", out var function))
                    return GatewayError.BadRequest("tools: only function tools can be sent to a Gemini model.", "unsupported_tool");
                w.WriteStartObject();
                w.WriteString("name"u8, function.GetProperty("name").GetString());
                if (function.TryGetProperty("strict", out var strict) && strict.ValueKind == JsonValueKind.True)
                    dropped.Add($"tools.strict ({function.GetProperty("name").GetString()}: Gemini has no strict schema mode)");
                if (function.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String) w.WriteString("description"u8, d.GetString());
                if (function.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Object && HasProperties(parameters))
                {
                    w.WritePropertyName("parameters"u8);
                    WriteSchema(w, parameters, dropped, $"tools.{function.GetProperty("name").GetString()}");
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndArray();
            if (root.TryGetProperty("tool_choice", out var choice)) WriteToolChoice(w, choice);
        }

        w.WriteStartObject("generationConfig"u8);
        foreach (var name in new[] { "max_completion_tokens", "max_tokens" })
            if (root.TryGetProperty(name, out var m) && m.ValueKind == JsonValueKind.Number) { w.WriteNumber("maxOutputTokens"u8, m.GetInt32()); break; }
        CopyNumber(w, root, "temperature", "temperature"u8);
        CopyNumber(w, root, "top_p", "topP"u8);
        CopyNumber(w, root, "seed", "seed"u8);
        CopyNumber(w, root, "presence_penalty", "presencePenalty"u8);
        CopyNumber(w, root, "frequency_penalty", "frequencyPenalty"u8);
        if (root.TryGetProperty("stop", out var stop))
        {
            w.WriteStartArray("stopSequences"u8);
            if (stop.ValueKind == JsonValueKind.String) w.WriteStringValue(stop.GetString());
            else if (stop.ValueKind == JsonValueKind.Array) foreach (var s in stop.EnumerateArray()) w.WriteStringValue(s.GetString());
            w.WriteEndArray();
        }
        if (root.TryGetProperty("response_format", out var format) && format.ValueKind == JsonValueKind.Object && format.TryGetProperty("type", out var ft))
        {
            if (ft.ValueEquals("json_object"u8)) w.WriteString("responseMimeType"u8, "application/json"u8);
            else if (ft.ValueEquals("json_schema"u8) && format.TryGetProperty("json_schema", out var js) && js.TryGetProperty("schema", out var schema))
            {
                w.WriteString("responseMimeType"u8, "application/json"u8);
                w.WritePropertyName("responseSchema"u8);
                WriteSchema(w, schema, dropped, "response_format");
            }
        }
        w.WriteEndObject();
        w.WriteEndObject();

        foreach (var field in DroppedFields)
            if (root.TryGetProperty(field, out var value) && value.ValueKind != JsonValueKind.Null) dropped.Add(field);
        return null;
    }

    private static GatewayError? WriteParts(Utf8JsonWriter w, string role, JsonElement message, JsonElement content, int index, Dictionary<string, string> toolNames)
    {
        if (role is "tool" or "function")
        {
            string id = message.TryGetProperty("tool_call_id", out var t) ? t.GetString() ?? "" : "";
            string name = message.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()!
                : toolNames.TryGetValue(id, out var known) ? known : "";
            if (name.Length == 0) return GatewayError.BadRequest($"messages[{index}]: the tool result answers no earlier tool call ('{id}').", "invalid_messages");
            string result = OpenAIContent.Text(content);
            w.WriteStartObject();
            w.WriteStartObject("functionResponse"u8);
            w.WriteString("name"u8, name);
            w.WriteStartObject("response"u8);
            // A JSON object result is passed as the object; anything else as {"result": text}.
            if (TryParseObject(result) is { } obj)
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

        if (content.ValueKind == JsonValueKind.String && content.GetString() is { Length: > 0 } text)
            TextPart(w, text);
        else if (content.ValueKind == JsonValueKind.Array)
            foreach (var part in content.EnumerateArray())
            {
                string? type = part.TryGetProperty("type", out var pt) ? pt.GetString() : null;
                if (type == "text") TextPart(w, part.GetProperty("text").GetString() ?? "");
                else if (type == "image_url")
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
                else return GatewayError.BadRequest($"messages[{index}].content: part type '{type}' cannot be sent to a Gemini model.", "unsupported_content");
            }

        if (role == "assistant" && message.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
            foreach (var call in calls.EnumerateArray())
            {
                var function = call.GetProperty("function");
                string id = call.TryGetProperty("id", out var i) ? i.GetString() ?? "" : "";
                string name = function.GetProperty("name").GetString()!;
                toolNames[id] = name;
                string arguments = function.TryGetProperty("arguments", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString()! : "{}";
                var args = TryParseObject(string.IsNullOrWhiteSpace(arguments) ? "{}" : arguments);
                if (args is null) return GatewayError.BadRequest($"messages[{index}].tool_calls: arguments of '{name}' must be a JSON object.", "invalid_messages");
                w.WriteStartObject();
                w.WriteStartObject("functionCall"u8);
                w.WriteString("name"u8, name);
                w.WritePropertyName("args"u8);
                args.Value.WriteTo(w);
                w.WriteEndObject();
                if (GeminiToolIds.SignatureOf(id) is { } signature) w.WriteString("thoughtSignature"u8, signature);
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

    private static void WriteToolChoice(Utf8JsonWriter w, JsonElement choice)
    {
        string mode = "AUTO";
        string? only = null;
        if (choice.ValueKind == JsonValueKind.String)
            mode = choice.GetString() switch { "required" => "ANY", "none" => "NONE", _ => "AUTO" };
        else if (choice.ValueKind == JsonValueKind.Object && choice.TryGetProperty("function", out var f))
        {
            mode = "ANY";
            only = f.GetProperty("name").GetString();
        }
        w.WriteStartObject("toolConfig"u8);
        w.WriteStartObject("functionCallingConfig"u8);
        w.WriteString("mode"u8, mode);
        if (only is not null)
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

    private static JsonElement? TryParseObject(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.ValueKind == JsonValueKind.Object ? doc.RootElement.Clone() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static void TextPart(Utf8JsonWriter w, string text)
    {
        w.WriteStartObject();
        w.WriteString("text"u8, text);
        w.WriteEndObject();
    }

    private static void CopyNumber(Utf8JsonWriter w, JsonElement root, string name, ReadOnlySpan<byte> target)
    {
        if (root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number)
        {
            w.WritePropertyName(target);
            value.WriteTo(w);
        }
    }
}
