using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Core.Errors;
using Gateway.Core.Protocol;
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
    private sealed record Turn(string Role, List<Action<Utf8JsonWriter>> Blocks);

    /// <summary>
    /// Converse takes no output schema: a JSON answer (<c>response_format</c>) is asked for as a call of this
    /// forced tool, whose input schema is the answer's schema; its input comes back as the message's text.
    /// </summary>
    public const string AnswerTool = "json_answer";

    /// <summary>Whether a request is sent with the forced <see cref="AnswerTool"/> (a JSON answer asked for, no tools of its own).</summary>
    public static bool UsesAnswerTool(ChatRequest request) =>
        request.ResponseFormat is { Type: ResponseFormat.JsonSchemaType or ResponseFormat.JsonObjectType } && request.Tools is not { Count: > 0 };

    public static GatewayError? Translate(ChatRequest request, IBufferWriter<byte> output, List<string> dropped)
    {
        if (request.N is { } n && n != 1)
            return GatewayError.BadRequest("'n' other than 1 is not supported by Bedrock Converse.", "unsupported_parameter");

        var system = new List<string>();
        var turns = new List<Turn>();
        for (int index = 0; index < request.Messages.Count; index++)
        {
            var message = request.Messages[index];
            var blocks = new List<Action<Utf8JsonWriter>>();
            switch (message.Role)
            {
                case ChatRoles.System or ChatRoles.Developer:
                    system.Add(message.Text);
                    break;
                case ChatRoles.User:
                    if (UserBlocks(message.Content, index, blocks) is { } error) return error;
                    Add(turns, "user", blocks);
                    break;
                case ChatRoles.Assistant:
                    string text = message.Text;
                    if (text.Length > 0) blocks.Add(w => Text(w, text));
                    foreach (var call in message.ToolCalls ?? [])
                    {
                        if (OpenAIContent.ReadArguments(call, index, out var input) is { } argumentsError) return argumentsError;
                        string id = call.Id, name = call.Function.Name;
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
                    if (message.ReasoningContent is not null) dropped.Add($"messages[{index}].reasoning_content");
                    Add(turns, "assistant", blocks);
                    break;
                case ChatRoles.Tool or ChatRoles.Function:
                    string toolId = message.ToolCallId ?? "";
                    string result = message.Text;
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
                    return GatewayError.BadRequest($"messages[{index}].role: '{message.Role}' is not a role Bedrock can take.", "invalid_messages");
            }
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
        if (request.MaxOutputTokens is { } max) w.WriteNumber("maxTokens"u8, max);
        if (request.Temperature is { } temperature) w.WriteNumber("temperature"u8, temperature);
        if (request.TopP is { } topP) w.WriteNumber("topP"u8, topP);
        if (request.Stop is { Count: > 0 } stop)
        {
            w.WriteStartArray("stopSequences"u8);
            foreach (var s in stop) w.WriteStringValue(s);
            w.WriteEndArray();
        }
        w.WriteEndObject();
        if (UsesAnswerTool(request))
        {
            w.WriteStartObject("toolConfig"u8);
            w.WriteStartArray("tools"u8);
            w.WriteStartObject();
            w.WriteStartObject("toolSpec"u8);
            w.WriteString("name"u8, AnswerTool);
            w.WriteString("description"u8, "Give your answer by calling this tool: its input is the answer, as JSON."u8);
            w.WriteStartObject("inputSchema"u8);
            w.WritePropertyName("json"u8);
            if (request.ResponseFormat!.JsonSchema?.Schema is { ValueKind: JsonValueKind.Object } schema) schema.WriteTo(w);
            else w.WriteRawValue("{\"type\":\"object\"}"u8, skipInputValidation: true);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteStartObject("toolChoice"u8);
            w.WriteStartObject("tool"u8);
            w.WriteString("name"u8, AnswerTool);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        else if (request.Tools is { Count: > 0 } tools)
        {
            w.WriteStartObject("toolConfig"u8);
            w.WriteStartArray("tools"u8);
            foreach (var tool in tools)
            {
                if (tool.Function is not { } function)
                    return GatewayError.BadRequest("tools: only function tools can be sent to Bedrock.", "unsupported_tool");
                if (function.Strict == true) dropped.Add($"tools.strict ({function.Name}: Converse has no strict schema mode)");
                w.WriteStartObject();
                w.WriteStartObject("toolSpec"u8);
                w.WriteString("name"u8, function.Name);
                if (function.Description is { } description) w.WriteString("description"u8, description);
                w.WriteStartObject("inputSchema"u8);
                w.WritePropertyName("json"u8);
                if (function.Parameters is { ValueKind: JsonValueKind.Object } parameters) parameters.WriteTo(w);
                else w.WriteRawValue("{\"type\":\"object\",\"properties\":{}}"u8, skipInputValidation: true);
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (request.ToolChoice is { } choice)
            {
                w.WriteStartObject("toolChoice"u8);
                if (choice.FunctionName is { } only)
                {
                    w.WriteStartObject("tool"u8);
                    w.WriteString("name"u8, only);
                    w.WriteEndObject();
                }
                else
                {
                    w.WriteStartObject(choice.Mode == ToolChoice.Required ? "any"u8 : "auto"u8);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
                if (choice.Mode == ToolChoice.None) dropped.Add("tool_choice none (Converse has no such mode; sent as auto)");
            }
            w.WriteEndObject();
        }
        w.WriteEndObject();

        if (request.FrequencyPenalty is not null) dropped.Add("frequency_penalty");
        if (request.PresencePenalty is not null) dropped.Add("presence_penalty");
        if (request.Seed is not null) dropped.Add("seed");
        if (request.ResponseFormat is { Type: not ResponseFormat.TextType } && !UsesAnswerTool(request))
            dropped.Add("response_format (with tools of its own, a request cannot also force Bedrock's answer tool)");
        if (request.ReasoningEffort is not null) dropped.Add("reasoning_effort");
        if (request.User is not null) dropped.Add("user");
        if (request.ParallelToolCalls is not null) dropped.Add("parallel_tool_calls");
        request.AddExtraFieldNames(dropped);
        return null;
    }

    private static GatewayError? UserBlocks(MessageContent? content, int index, List<Action<Utf8JsonWriter>> blocks)
    {
        if (content?.Text is { } whole)
        {
            if (whole.Length > 0) blocks.Add(w => Text(w, whole));
            return null;
        }
        foreach (var part in content?.Parts ?? [])
        {
            if (part.Type == ContentPart.TextType)
            {
                string text = part.Text ?? "";
                if (text.Length > 0) blocks.Add(w => Text(w, text));
            }
            else if (part.Type == ContentPart.ImageType)
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
            else return GatewayError.BadRequest($"messages[{index}].content: part type '{part.Type}' cannot be sent to Bedrock.", "unsupported_content");
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
