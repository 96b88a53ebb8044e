using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Core.Errors;
using Gateway.Providers.OpenAI;

namespace Gateway.Providers.Bedrock;

/// <summary>
/// An OpenAI Chat Completions request as a Bedrock Converse request: system messages into
/// <c>system</c>, content parts into content blocks, tool calls into <c>toolUse</c> and tool
/// results into <c>toolResult</c> blocks (same-role turns merged: Converse wants them alternating),
/// parameters into <c>inferenceConfig</c>, tools into <c>toolConfig</c>.
/// </summary>
public static class BedrockConverseRequest
{
    private static readonly string[] DroppedFields =
        ["frequency_penalty", "presence_penalty", "logit_bias", "logprobs", "top_logprobs", "seed", "response_format", "reasoning_effort", "user", "parallel_tool_calls"];

    private sealed record Turn(string Role, List<Action<Utf8JsonWriter>> Blocks);

    public static GatewayError? Translate(ReadOnlyMemory<byte> openAiBody, IBufferWriter<byte> output, List<string> dropped)
    {
        using var document = JsonDocument.Parse(openAiBody, new JsonDocumentOptions { MaxDepth = 256 });
        var root = document.RootElement;
        if (root.TryGetProperty("n", out var n) && n.ValueKind == JsonValueKind.Number && n.GetInt32() != 1)
            return GatewayError.BadRequest("'n' other than 1 is not supported by Bedrock Converse.", "unsupported_parameter");

        var system = new List<string>();
        var turns = new List<Turn>();
        int index = 0;
        foreach (var message in root.GetProperty("messages").EnumerateArray())
        {
            string role = message.TryGetProperty("role", out var r) ? r.GetString() ?? "" : "";
            var content = message.TryGetProperty("content", out var c) ? c : default;
            var blocks = new List<Action<Utf8JsonWriter>>();
            switch (role)
            {
                case "system" or "developer":
                    system.Add(OpenAIContent.Text(content));
                    break;
                case "user":
                    if (UserBlocks(content, index, blocks) is { } error) return error;
                    Add(turns, "user", blocks);
                    break;
                case "assistant":
                    string text = OpenAIContent.Text(content);
                    if (text.Length > 0) blocks.Add(w => Text(w, text));
                    if (message.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
                        foreach (var call in calls.EnumerateArray())
                        {
                            var function = call.GetProperty("function");
                            string id = call.GetProperty("id").GetString()!, name = function.GetProperty("name").GetString()!;
                            string arguments = function.TryGetProperty("arguments", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString()! : "{}";
                            JsonElement input;
                            try
                            {
                                using var parsed = JsonDocument.Parse(string.IsNullOrWhiteSpace(arguments) ? "{}" : arguments);
                                input = parsed.RootElement.Clone();
                            }
                            catch (JsonException)
                            {
                                return GatewayError.BadRequest($"messages[{index}].tool_calls: arguments of '{name}' are not valid JSON.", "invalid_messages");
                            }
                            blocks.Add(w =>
                            {
                                w.WriteStartObject();
                                w.WriteStartObject("toolUse"u8);
                                w.WriteString("toolUseId"u8, id);
                                w.WriteString("name"u8, name);
                                w.WritePropertyName("input"u8);
                                input.WriteTo(w);
                                w.WriteEndObject();
                                w.WriteEndObject();
                            });
                        }
                    Add(turns, "assistant", blocks);
                    break;
                case "tool" or "function":
                    string toolId = message.TryGetProperty("tool_call_id", out var t) ? t.GetString() ?? "" : "";
                    string result = OpenAIContent.Text(content);
                    blocks.Add(w =>
                    {
                        w.WriteStartObject();
                        w.WriteStartObject("toolResult"u8);
                        w.WriteString("toolUseId"u8, toolId);
                        w.WriteStartArray("content"u8);
                        Text(w, result);
                        w.WriteEndArray();
                        w.WriteEndObject();
                        w.WriteEndObject();
                    });
                    Add(turns, "user", blocks);
                    break;
                default:
                    return GatewayError.BadRequest($"messages[{index}].role: '{role}' is not a role Bedrock can take.", "invalid_messages");
            }
            index++;
        }
        if (turns.Count == 0) return GatewayError.BadRequest("Bedrock needs at least one user or assistant message besides the system prompt.", "invalid_messages");

        using var w = new Utf8JsonWriter(output);
        w.WriteStartObject();
        w.WriteStartArray("messages"u8);
        foreach (var turn in turns)
        {
            w.WriteStartObject();
            w.WriteString("role"u8, turn.Role);
            w.WriteStartArray("content"u8);
            foreach (var block in turn.Blocks) block(w);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (system.Count > 0)
        {
            w.WriteStartArray("system"u8);
            foreach (var s in system) Text(w, s);
            w.WriteEndArray();
        }
        w.WriteStartObject("inferenceConfig"u8);
        foreach (var name in new[] { "max_completion_tokens", "max_tokens" })
            if (root.TryGetProperty(name, out var m) && m.ValueKind == JsonValueKind.Number) { w.WriteNumber("maxTokens"u8, m.GetInt32()); break; }
        if (root.TryGetProperty("temperature", out var temperature) && temperature.ValueKind == JsonValueKind.Number) w.WriteNumber("temperature"u8, temperature.GetDouble());
        if (root.TryGetProperty("top_p", out var topP) && topP.ValueKind == JsonValueKind.Number) w.WriteNumber("topP"u8, topP.GetDouble());
        if (root.TryGetProperty("stop", out var stop))
        {
            w.WriteStartArray("stopSequences"u8);
            if (stop.ValueKind == JsonValueKind.String) w.WriteStringValue(stop.GetString());
            else if (stop.ValueKind == JsonValueKind.Array) foreach (var s in stop.EnumerateArray()) w.WriteStringValue(s.GetString());
            w.WriteEndArray();
        }
        w.WriteEndObject();
        if (root.TryGetProperty("tools", out var tools) && tools.ValueKind == JsonValueKind.Array && tools.GetArrayLength() > 0)
        {
            w.WriteStartObject("toolConfig"u8);
            w.WriteStartArray("tools"u8);
            foreach (var tool in tools.EnumerateArray())
            {
                if (!tool.TryGetProperty("function", out var function))
                    return GatewayError.BadRequest("tools: only function tools can be sent to Bedrock.", "unsupported_tool");
                if (function.TryGetProperty("strict", out var strict) && strict.ValueKind == JsonValueKind.True)
                    dropped.Add($"tools.strict ({function.GetProperty("name").GetString()}: Converse has no strict schema mode)");
                w.WriteStartObject();
                w.WriteStartObject("toolSpec"u8);
                w.WriteString("name"u8, function.GetProperty("name").GetString());
                if (function.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String) w.WriteString("description"u8, d.GetString());
                w.WriteStartObject("inputSchema"u8);
                w.WritePropertyName("json"u8);
                if (function.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Object) parameters.WriteTo(w);
                else w.WriteRawValue("{\"type\":\"object\",\"properties\":{}}"u8, skipInputValidation: true);
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (root.TryGetProperty("tool_choice", out var choice))
            {
                w.WriteStartObject("toolChoice"u8);
                if (choice.ValueKind == JsonValueKind.Object && choice.TryGetProperty("function", out var f))
                {
                    w.WriteStartObject("tool"u8);
                    w.WriteString("name"u8, f.GetProperty("name").GetString());
                    w.WriteEndObject();
                }
                else
                {
                    w.WriteStartObject(choice.ValueKind == JsonValueKind.String && choice.ValueEquals("required"u8) ? "any"u8 : "auto"u8);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
                if (choice.ValueKind == JsonValueKind.String && choice.ValueEquals("none"u8)) dropped.Add("tool_choice none (Converse has no such mode; sent as auto)");
            }
            w.WriteEndObject();
        }
        w.WriteEndObject();

        foreach (var field in DroppedFields)
            if (root.TryGetProperty(field, out var value) && value.ValueKind != JsonValueKind.Null) dropped.Add(field);
        return null;
    }

    private static GatewayError? UserBlocks(JsonElement content, int index, List<Action<Utf8JsonWriter>> blocks)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            string text = content.GetString()!;
            if (text.Length > 0) blocks.Add(w => Text(w, text));
            return null;
        }
        if (content.ValueKind != JsonValueKind.Array) return null;
        foreach (var part in content.EnumerateArray())
        {
            string? type = part.TryGetProperty("type", out var t) ? t.GetString() : null;
            if (type == "text")
            {
                string text = part.GetProperty("text").GetString() ?? "";
                if (text.Length > 0) blocks.Add(w => Text(w, text));
            }
            else if (type == "image_url")
            {
                if (OpenAIContent.ReadImage(part, index, out var image) is { } error) return error;
                if (!image.IsInline || !image.MediaType!.StartsWith("image/", StringComparison.Ordinal))
                    return GatewayError.BadRequest($"messages[{index}].content: Bedrock takes images only as base64 data URLs.", "invalid_image");
                string format = image.MediaType["image/".Length..], data = image.Data!;
                blocks.Add(w =>
                {
                    w.WriteStartObject();
                    w.WriteStartObject("image"u8);
                    w.WriteString("format"u8, format == "jpg" ? "jpeg" : format);
                    w.WriteStartObject("source"u8);
                    w.WriteString("bytes"u8, data);
                    w.WriteEndObject();
                    w.WriteEndObject();
                    w.WriteEndObject();
                });
            }
            else return GatewayError.BadRequest($"messages[{index}].content: part type '{type}' cannot be sent to Bedrock.", "unsupported_content");
        }
        return null;
    }

    private static void Add(List<Turn> turns, string role, List<Action<Utf8JsonWriter>> blocks)
    {
        if (blocks.Count == 0) return;
        if (turns.Count > 0 && turns[^1].Role == role) turns[^1].Blocks.AddRange(blocks);
        else turns.Add(new Turn(role, blocks));
    }

    private static void Text(Utf8JsonWriter w, string text)
    {
        w.WriteStartObject();
        w.WriteString("text"u8, text);
        w.WriteEndObject();
    }
}
