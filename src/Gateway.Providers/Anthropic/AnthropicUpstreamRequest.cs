using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Core.Errors;
using Gateway.Providers.OpenAI;

namespace Gateway.Providers.Anthropic;

/// <summary>
/// An OpenAI Chat Completions request as an Anthropic Messages request: system and developer
/// messages hoisted into <c>system</c>, consecutive same-role turns merged (Anthropic wants them
/// alternating), <c>tool_calls</c> into <c>tool_use</c> blocks with an input object, <c>tool</c>
/// messages into <c>tool_result</c> blocks, <c>max_tokens</c> always set (Anthropic requires it).
/// Fields Anthropic has no place for are reported in <c>dropped</c>; parts it cannot take are a 400.
/// </summary>
public static class AnthropicUpstreamRequest
{
    /// <summary>What a request gets when the client named no limit; Anthropic requires one.</summary>
    public const int DefaultMaxTokens = 4096;

    private static readonly string[] DroppedFields =
        ["frequency_penalty", "presence_penalty", "logit_bias", "logprobs", "top_logprobs", "seed", "response_format", "reasoning_effort", "modalities", "audio", "prediction", "store", "service_tier"];

    private sealed record Turn(string Role, List<Action<Utf8JsonWriter>> Blocks);

    public static GatewayError? Translate(ReadOnlyMemory<byte> openAiBody, ReadOnlySpan<byte> upstreamModelJson, IBufferWriter<byte> output, List<string> dropped)
    {
        using var document = JsonDocument.Parse(openAiBody, new JsonDocumentOptions { MaxDepth = 256 });
        var root = document.RootElement;
        if (root.TryGetProperty("n", out var n) && n.ValueKind == JsonValueKind.Number && n.GetInt32() != 1)
            return GatewayError.BadRequest("'n' other than 1 is not supported by Anthropic models.", "unsupported_parameter");

        var system = new StringBuilder();
        var turns = new List<Turn>();
        int index = 0;
        foreach (var message in root.GetProperty("messages").EnumerateArray())
        {
            if (AddMessage(message, index++, system, turns, dropped) is { } error) return error;
        }
        if (turns.Count == 0)
            return GatewayError.BadRequest("Anthropic needs at least one user or assistant message besides the system prompt.", "invalid_messages");

        using var w = new Utf8JsonWriter(output);
        w.WriteStartObject();
        w.WritePropertyName("model"u8);
        var quoted = new byte[upstreamModelJson.Length + 2];
        quoted[0] = quoted[^1] = (byte)'"';
        upstreamModelJson.CopyTo(quoted.AsSpan(1));
        w.WriteRawValue(quoted, skipInputValidation: true);

        int max = DefaultMaxTokens;
        foreach (var name in new[] { "max_completion_tokens", "max_tokens" })
            if (root.TryGetProperty(name, out var m) && m.ValueKind == JsonValueKind.Number && m.TryGetInt32(out int v)) { max = v; break; }
        w.WriteNumber("max_tokens"u8, max);
        if (system.Length > 0) w.WriteString("system"u8, system.ToString());

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

        if (root.TryGetProperty("temperature", out var temperature) && temperature.ValueKind == JsonValueKind.Number)
        {
            double t = temperature.GetDouble();
            if (t > 1)
            {
                dropped.Add($"temperature {t} (Anthropic's range is 0..1; sent as 1)");
                t = 1;
            }
            w.WriteNumber("temperature"u8, t);
        }
        if (root.TryGetProperty("top_p", out var topP) && topP.ValueKind == JsonValueKind.Number) w.WriteNumber("top_p"u8, topP.GetDouble());
        if (root.TryGetProperty("stop", out var stop))
        {
            if (stop.ValueKind == JsonValueKind.String)
            {
                w.WriteStartArray("stop_sequences"u8);
                w.WriteStringValue(stop.GetString());
                w.WriteEndArray();
            }
            else if (stop.ValueKind == JsonValueKind.Array && stop.GetArrayLength() > 0)
            {
                w.WritePropertyName("stop_sequences"u8);
                stop.WriteTo(w);
            }
        }
        if (root.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True) w.WriteBoolean("stream"u8, true);
        if (root.TryGetProperty("tools", out var tools) && tools.ValueKind == JsonValueKind.Array && tools.GetArrayLength() > 0)
        {
            if (WriteTools(w, tools) is { } error) return error;
            bool parallel = !(root.TryGetProperty("parallel_tool_calls", out var p) && p.ValueKind == JsonValueKind.False);
            if (WriteToolChoice(w, root.TryGetProperty("tool_choice", out var c) ? c : default, parallel) is { } choiceError) return choiceError;
        }
        if (root.TryGetProperty("user", out var user) && user.ValueKind == JsonValueKind.String)
        {
            w.WriteStartObject("metadata"u8);
            w.WriteString("user_id"u8, user.GetString());
            w.WriteEndObject();
        }
        w.WriteEndObject();

        foreach (var field in DroppedFields)
            if (root.TryGetProperty(field, out var value) && value.ValueKind != JsonValueKind.Null) dropped.Add(field);
        return null;
    }

    private static GatewayError? AddMessage(JsonElement message, int index, StringBuilder system, List<Turn> turns, List<string> dropped)
    {
        string role = message.TryGetProperty("role", out var r) ? r.GetString() ?? "" : "";
        var content = message.TryGetProperty("content", out var c) ? c : default;
        switch (role)
        {
            case "system" or "developer":
                if (system.Length > 0) system.Append("\n\n");
                system.Append(OpenAIContent.Text(content));
                return null;
            case "user":
                {
                    var blocks = new List<Action<Utf8JsonWriter>>();
                    if (UserBlocks(content, index, blocks) is { } error) return error;
                    if (blocks.Count > 0) Add(turns, "user", blocks);
                    return null;
                }
            case "assistant":
                {
                    var blocks = new List<Action<Utf8JsonWriter>>();
                    string text = OpenAIContent.Text(content);
                    if (text.Length > 0) blocks.Add(w => TextBlock(w, text));
                    if (message.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
                        foreach (var call in calls.EnumerateArray())
                        {
                            var function = call.GetProperty("function");
                            string id = call.GetProperty("id").GetString()!;
                            string name = function.GetProperty("name").GetString()!;
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
                            if (input.ValueKind != JsonValueKind.Object)
                                return GatewayError.BadRequest($"messages[{index}].tool_calls: arguments of '{name}' must be a JSON object.", "invalid_messages");
                            blocks.Add(w =>
                            {
                                w.WriteStartObject();
                                w.WriteString("type"u8, "tool_use"u8);
                                w.WriteString("id"u8, id);
                                w.WriteString("name"u8, name);
                                w.WritePropertyName("input"u8);
                                input.WriteTo(w);
                                w.WriteEndObject();
                            });
                        }
                    if (message.TryGetProperty("reasoning_content", out _)) dropped.Add($"messages[{index}].reasoning_content");
                    if (blocks.Count > 0) Add(turns, "assistant", blocks);
                    return null;
                }
            case "tool" or "function":
                {
                    string id = message.TryGetProperty("tool_call_id", out var t) ? t.GetString() ?? "" : "";
                    string result = OpenAIContent.Text(content);
                    Add(turns, "user", [w =>
                    {
                        w.WriteStartObject();
                        w.WriteString("type"u8, "tool_result"u8);
                        w.WriteString("tool_use_id"u8, id);
                        w.WriteString("content"u8, result);
                        w.WriteEndObject();
                    }]);
                    return null;
                }
            default:
                return GatewayError.BadRequest($"messages[{index}].role: '{role}' is not a role Anthropic can take.", "invalid_messages");
        }
    }

    private static GatewayError? UserBlocks(JsonElement content, int index, List<Action<Utf8JsonWriter>> blocks)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            string text = content.GetString()!;
            if (text.Length > 0) blocks.Add(w => TextBlock(w, text));
            return null;
        }
        if (content.ValueKind != JsonValueKind.Array) return null;
        foreach (var part in content.EnumerateArray())
        {
            string? type = part.TryGetProperty("type", out var t) ? t.GetString() : null;
            if (type == "text")
            {
                string text = part.GetProperty("text").GetString() ?? "";
                if (text.Length > 0) blocks.Add(w => TextBlock(w, text));
            }
            else if (type == "image_url")
            {
                if (OpenAIContent.ReadImage(part, index, out var image) is { } error) return error;
                blocks.Add(image.IsInline ? w => ImageBlock(w, "base64", image.MediaType, image.Data!) : w => ImageBlock(w, "url", null, image.Url));
            }
            else
            {
                return GatewayError.BadRequest($"messages[{index}].content: part type '{type}' cannot be sent to an Anthropic model.", "unsupported_content");
            }
        }
        return null;
    }

    private static void Add(List<Turn> turns, string role, List<Action<Utf8JsonWriter>> blocks)
    {
        // Anthropic requires alternating roles; consecutive turns of one role become one turn.
        if (turns.Count > 0 && turns[^1].Role == role)
        {
            // tool_result blocks must open a user turn, before any other content.
            turns[^1].Blocks.AddRange(blocks);
            return;
        }
        turns.Add(new Turn(role, blocks));
    }

    private static GatewayError? WriteTools(Utf8JsonWriter w, JsonElement tools)
    {
        w.WriteStartArray("tools"u8);
        foreach (var tool in tools.EnumerateArray())
        {
            if (!tool.TryGetProperty("function", out var function))
                return GatewayError.BadRequest("tools: only function tools can be sent to an Anthropic model.", "unsupported_tool");
            w.WriteStartObject();
            w.WriteString("name"u8, function.GetProperty("name").GetString());
            if (function.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String) w.WriteString("description"u8, d.GetString());
            w.WritePropertyName("input_schema"u8);
            if (function.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Object) parameters.WriteTo(w);
            else w.WriteRawValue("{\"type\":\"object\",\"properties\":{}}"u8, skipInputValidation: true);
            if (function.TryGetProperty("strict", out var strict) && strict.ValueKind is JsonValueKind.True or JsonValueKind.False) w.WriteBoolean("strict"u8, strict.GetBoolean());
            w.WriteEndObject();
        }
        w.WriteEndArray();
        return null;
    }

    private static GatewayError? WriteToolChoice(Utf8JsonWriter w, JsonElement choice, bool parallel)
    {
        string type = "auto";
        string? name = null;
        if (choice.ValueKind == JsonValueKind.String)
        {
            type = choice.GetString() switch
            {
                "required" => "any",
                "none" => "none",
                _ => "auto",
            };
        }
        else if (choice.ValueKind == JsonValueKind.Object)
        {
            type = "tool";
            name = choice.GetProperty("function").GetProperty("name").GetString();
        }
        else if (parallel)
        {
            return null; // Anthropic's default is auto with parallel calls allowed
        }
        w.WriteStartObject("tool_choice"u8);
        w.WriteString("type"u8, type);
        if (name is not null) w.WriteString("name"u8, name);
        if (!parallel && type != "none") w.WriteBoolean("disable_parallel_tool_use"u8, true);
        w.WriteEndObject();
        return null;
    }

    private static void TextBlock(Utf8JsonWriter w, string text)
    {
        w.WriteStartObject();
        w.WriteString("type"u8, "text"u8);
        w.WriteString("text"u8, text);
        w.WriteEndObject();
    }

    private static void ImageBlock(Utf8JsonWriter w, string sourceType, string? mediaType, string data)
    {
        w.WriteStartObject();
        w.WriteString("type"u8, "image"u8);
        w.WriteStartObject("source"u8);
        w.WriteString("type"u8, sourceType);
        if (mediaType is not null)
        {
            w.WriteString("media_type"u8, mediaType);
            w.WriteString("data"u8, data);
        }
        else
        {
            w.WriteString("url"u8, data);
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
