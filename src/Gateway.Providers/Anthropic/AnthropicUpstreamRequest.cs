using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Core.Errors;
using Gateway.Core.Protocol;
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

    private sealed record Turn(string Role, List<Action<Utf8JsonWriter>> Blocks);

    public static GatewayError? Translate(ChatRequest request, ReadOnlySpan<byte> upstreamModelJson, IBufferWriter<byte> output, List<string> dropped)
    {
        if (request.N is { } n && n != 1)
            return GatewayError.BadRequest("'n' other than 1 is not supported by Anthropic models.", "unsupported_parameter");

        var system = new StringBuilder();
        var turns = new List<Turn>();
        for (int index = 0; index < request.Messages.Count; index++)
        {
            if (AddMessage(request.Messages[index], index, system, turns, dropped) is { } error) return error;
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

        var thinking = ThinkingBudget(request, dropped);
        // OpenAI's output limit includes reasoning; Anthropic's max_tokens must exceed the thinking budget.
        w.WriteNumber("max_tokens"u8, request.MaxOutputTokens ?? DefaultMaxTokens + (thinking ?? 0));
        if (thinking is { } budget)
        {
            w.WriteStartObject("thinking"u8);
            w.WriteString("type"u8, "enabled"u8);
            w.WriteNumber("budget_tokens"u8, budget);
            w.WriteEndObject();
        }
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

        if (thinking is not null && request.Temperature is { } ignored && ignored != 1)
            dropped.Add($"temperature {ignored} (Anthropic takes no temperature while thinking)");
        else if (request.Temperature is { } t)
        {
            if (t > 1)
            {
                dropped.Add($"temperature {t} (Anthropic's range is 0..1; sent as 1)");
                t = 1;
            }
            w.WriteNumber("temperature"u8, t);
        }
        if (thinking is not null && request.TopP is < 0.95)
            dropped.Add($"top_p {request.TopP} (Anthropic takes 0.95..1 while thinking)");
        else if (request.TopP is { } topP) w.WriteNumber("top_p"u8, topP);
        if (request.Stop is { Count: > 0 } stop)
        {
            w.WriteStartArray("stop_sequences"u8);
            foreach (var s in stop) w.WriteStringValue(s);
            w.WriteEndArray();
        }
        if (request.IsStreaming) w.WriteBoolean("stream"u8, true);
        if (request.Tools is { Count: > 0 } tools)
        {
            if (WriteTools(w, tools) is { } error) return error;
            WriteToolChoice(w, request.ToolChoice, parallel: request.ParallelToolCalls != false);
        }
        WriteOutputFormat(w, request.ResponseFormat, dropped);
        if (request.User is { } user)
        {
            w.WriteStartObject("metadata"u8);
            w.WriteString("user_id"u8, user);
            w.WriteEndObject();
        }
        w.WriteEndObject();

        if (request.FrequencyPenalty is not null) dropped.Add("frequency_penalty");
        if (request.PresencePenalty is not null) dropped.Add("presence_penalty");
        if (request.Seed is not null) dropped.Add("seed");
        request.AddExtraFieldNames(dropped);
        return null;
    }

    /// <summary>
    /// <c>reasoning_effort</c> as an extended-thinking budget (the budgets other gateways use, so a
    /// client sees the same behaviour through either), or null with the reason in <paramref name="dropped"/>.
    /// </summary>
    internal static int? ThinkingBudget(ChatRequest request, List<string> dropped)
    {
        if (request.ReasoningEffort is not { } effort) return null;
        int? wanted = effort switch
        {
            "low" => 1024,
            "medium" => 2048,
            "high" => 4096,
            _ => null, // none and minimal: no thinking, which is Anthropic's default
        };
        if (wanted is not { } budget) return null;
        string? reason = null;
        if (request.ToolChoice is { Mode: ToolChoice.Required } or { FunctionName: not null })
            reason = "Anthropic cannot think while a tool call is forced";
        else if (LastAssistantCallsTools(request))
            // Anthropic wants the signed thinking block that preceded the call back, which OpenAI's format cannot carry.
            reason = "the last assistant turn has tool calls and its thinking block cannot be sent back";
        else if (request.MaxOutputTokens is { } max && max <= budget)
        {
            if (max - 1 >= MinThinkingBudget) return max - 1;
            reason = $"max tokens {max} leave no room for Anthropic's minimum thinking budget of {MinThinkingBudget}";
        }
        if (reason is null) return budget;
        dropped.Add($"reasoning_effort ({reason})");
        return null;
    }

    private const int MinThinkingBudget = 1024;

    private static bool LastAssistantCallsTools(ChatRequest request)
    {
        for (int i = request.Messages.Count - 1; i >= 0; i--)
            if (request.Messages[i].Role == ChatRoles.Assistant) return request.Messages[i].ToolCalls is { Count: > 0 };
        return false;
    }

    private static GatewayError? AddMessage(ChatMessage message, int index, StringBuilder system, List<Turn> turns, List<string> dropped)
    {
        switch (message.Role)
        {
            case ChatRoles.System or ChatRoles.Developer:
                if (system.Length > 0) system.Append("\n\n");
                system.Append(message.Text);
                return null;
            case ChatRoles.User:
                {
                    var blocks = new List<Action<Utf8JsonWriter>>();
                    if (UserBlocks(message.Content, index, blocks) is { } error) return error;
                    if (blocks.Count > 0) Add(turns, "user", blocks);
                    return null;
                }
            case ChatRoles.Assistant:
                {
                    var blocks = new List<Action<Utf8JsonWriter>>();
                    string text = message.Text;
                    if (text.Length > 0) blocks.Add(w => TextBlock(w, text));
                    foreach (var call in message.ToolCalls ?? [])
                    {
                        if (OpenAIContent.ReadArguments(call, index, out var input) is { } error) return error;
                        string id = call.Id, name = call.Function.Name;
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
                    if (message.ReasoningContent is not null) dropped.Add($"messages[{index}].reasoning_content");
                    if (blocks.Count > 0) Add(turns, "assistant", blocks);
                    return null;
                }
            case ChatRoles.Tool or ChatRoles.Function:
                {
                    string id = message.ToolCallId ?? "";
                    string result = message.Text;
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
                return GatewayError.BadRequest($"messages[{index}].role: '{message.Role}' is not a role Anthropic can take.", "invalid_messages");
        }
    }

    private static GatewayError? UserBlocks(MessageContent? content, int index, List<Action<Utf8JsonWriter>> blocks)
    {
        if (content?.Text is { } whole)
        {
            if (whole.Length > 0) blocks.Add(w => TextBlock(w, whole));
            return null;
        }
        foreach (var part in content?.Parts ?? [])
        {
            if (part.Type == ContentPart.TextType)
            {
                string text = part.Text ?? "";
                if (text.Length > 0) blocks.Add(w => TextBlock(w, text));
            }
            else if (part.Type == ContentPart.ImageType)
            {
                if (OpenAIContent.ReadImage(part, index, out var image) is { } error) return error;
                blocks.Add(image.IsInline ? w => ImageBlock(w, "base64", image.MediaType, image.Data!) : w => ImageBlock(w, "url", null, image.Url));
            }
            else
            {
                return GatewayError.BadRequest($"messages[{index}].content: part type '{part.Type}' cannot be sent to an Anthropic model.", "unsupported_content");
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

    private static GatewayError? WriteTools(Utf8JsonWriter w, List<ToolDefinition> tools)
    {
        w.WriteStartArray("tools"u8);
        foreach (var tool in tools)
        {
            if (tool.Function is not { } function)
                return GatewayError.BadRequest("tools: only function tools can be sent to an Anthropic model.", "unsupported_tool");
            w.WriteStartObject();
            w.WriteString("name"u8, function.Name);
            if (function.Description is { } description) w.WriteString("description"u8, description);
            w.WritePropertyName("input_schema"u8);
            if (function.Parameters is { ValueKind: JsonValueKind.Object } parameters) parameters.WriteTo(w);
            else w.WriteRawValue("{\"type\":\"object\",\"properties\":{}}"u8, skipInputValidation: true);
            if (function.Strict is { } strict) w.WriteBoolean("strict"u8, strict);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        return null;
    }

    /// <summary>
    /// A JSON schema answer as Anthropic's structured output (<c>output_config.format</c>): the answer is
    /// then the JSON as text, which is what an OpenAI client reads from the message content. Anthropic has
    /// no JSON mode without a schema, so <c>json_object</c> is reported dropped.
    /// </summary>
    private static void WriteOutputFormat(Utf8JsonWriter w, ResponseFormat? format, List<string> dropped)
    {
        if (format is null || format.Type == ResponseFormat.TextType) return;
        if (format.Type != ResponseFormat.JsonSchemaType || format.JsonSchema?.Schema is not { ValueKind: JsonValueKind.Object } schema)
        {
            dropped.Add($"response_format {format.Type} (Anthropic takes a JSON schema, not a JSON mode)");
            return;
        }
        w.WriteStartObject("output_config"u8);
        w.WriteStartObject("format"u8);
        w.WriteString("type"u8, "json_schema"u8);
        w.WritePropertyName("schema"u8);
        schema.WriteTo(w);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteToolChoice(Utf8JsonWriter w, ToolChoice? choice, bool parallel)
    {
        if (choice is null && parallel) return; // Anthropic's default is auto with parallel calls allowed
        string type = choice switch
        {
            { FunctionName: not null } => "tool",
            { Mode: ToolChoice.Required } => "any",
            { Mode: ToolChoice.None } => "none",
            _ => "auto",
        };
        w.WriteStartObject("tool_choice"u8);
        w.WriteString("type"u8, type);
        if (choice?.FunctionName is { } name) w.WriteString("name"u8, name);
        if (!parallel && type != "none") w.WriteBoolean("disable_parallel_tool_use"u8, true);
        w.WriteEndObject();
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
