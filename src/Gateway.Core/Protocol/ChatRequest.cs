using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gateway.Core.Protocol;

/// <summary>
/// The canonical chat request: OpenAI Chat Completions semantics, the shape every translating
/// provider reads. Fields the gateway gives no type to land in <see cref="Extra"/>, so an adapter
/// can name each one it does not map instead of losing it silently.
/// </summary>
public sealed class ChatRequest
{
    [JsonPropertyName("model")] public string? Model { get; set; }
    [JsonPropertyName("messages")] public List<ChatMessage> Messages { get; set; } = [];
    [JsonPropertyName("tools")] public List<ToolDefinition>? Tools { get; set; }
    [JsonPropertyName("tool_choice")] public ToolChoice? ToolChoice { get; set; }
    [JsonPropertyName("parallel_tool_calls")] public bool? ParallelToolCalls { get; set; }
    [JsonPropertyName("response_format")] public ResponseFormat? ResponseFormat { get; set; }

    /// <summary>Up to four sequences; OpenAI takes a single string too.</summary>
    [JsonPropertyName("stop"), JsonConverter(typeof(StringOrArrayConverter))] public List<string>? Stop { get; set; }

    [JsonPropertyName("max_tokens")] public int? MaxTokens { get; set; }
    [JsonPropertyName("max_completion_tokens")] public int? MaxCompletionTokens { get; set; }
    [JsonPropertyName("temperature")] public double? Temperature { get; set; }
    [JsonPropertyName("top_p")] public double? TopP { get; set; }
    [JsonPropertyName("presence_penalty")] public double? PresencePenalty { get; set; }
    [JsonPropertyName("frequency_penalty")] public double? FrequencyPenalty { get; set; }
    [JsonPropertyName("seed")] public long? Seed { get; set; }
    [JsonPropertyName("n")] public int? N { get; set; }
    [JsonPropertyName("stream")] public bool? Stream { get; set; }
    [JsonPropertyName("stream_options")] public StreamOptions? StreamOptions { get; set; }
    [JsonPropertyName("user")] public string? User { get; set; }

    /// <summary>minimal, low, medium or high: how much the model should think before answering.</summary>
    [JsonPropertyName("reasoning_effort")] public string? ReasoningEffort { get; set; }

    /// <summary>Every field without a property here (logit_bias, logprobs, metadata, provider extras...).</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    /// <summary>The output limit the client asked for: the newer name wins over the deprecated one.</summary>
    [JsonIgnore] public int? MaxOutputTokens => MaxCompletionTokens ?? MaxTokens;

    [JsonIgnore] public bool IsStreaming => Stream == true;

    [JsonIgnore] public bool WantsStreamUsage => StreamOptions?.IncludeUsage == true;

    /// <summary>
    /// Names every field that arrived without a canonical property (at the top, in messages, parts and
    /// tools), for a translator to report as dropped: nothing the client sent is lost unnamed.
    /// </summary>
    public void AddExtraFieldNames(List<string> names)
    {
        AddNames(Extra, "", names);
        AddNames(StreamOptions?.Extra, "stream_options.", names);
        for (int i = 0; i < Messages.Count; i++)
        {
            var message = Messages[i];
            AddNames(message.Extra, $"messages[{i}].", names);
            foreach (var part in message.Content?.Parts ?? [])
                AddNames(part.Extra, $"messages[{i}].content.", names);
        }
        foreach (var tool in Tools ?? [])
        {
            AddNames(tool.Extra, "tools.", names);
            AddNames(tool.Function?.Extra, "tools.function.", names);
        }
    }

    private static void AddNames(Dictionary<string, JsonElement>? extra, string prefix, List<string> names)
    {
        if (extra is null) return;
        foreach (var (name, value) in extra)
            if (value.ValueKind != JsonValueKind.Null) names.Add(prefix + name);
    }
}

public sealed class StreamOptions
{
    [JsonPropertyName("include_usage")] public bool? IncludeUsage { get; set; }
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }
}

/// <summary>The well-known message roles.</summary>
public static class ChatRoles
{
    public const string System = "system";
    public const string Developer = "developer";
    public const string User = "user";
    public const string Assistant = "assistant";
    public const string Tool = "tool";

    /// <summary>The legacy result of a <c>function_call</c>; treated like <see cref="Tool"/>.</summary>
    public const string Function = "function";

    public static bool IsInstruction(string? role) => role is System or Developer;
    public static bool IsToolResult(string? role) => role is Tool or Function;
}

/// <summary>A message of a request, or the message of an answer.</summary>
public sealed class ChatMessage
{
    [JsonPropertyName("role")] public string? Role { get; set; }

    /// <summary>Written even when null: OpenAI answers with <c>"content": null</c> for tool-call-only messages.</summary>
    [JsonPropertyName("content"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] public MessageContent? Content { get; set; }

    [JsonPropertyName("name")] public string? Name { get; set; }
    [JsonPropertyName("tool_calls")] public List<ToolCall>? ToolCalls { get; set; }
    [JsonPropertyName("tool_call_id")] public string? ToolCallId { get; set; }

    /// <summary>The model's thinking (DeepSeek's and most gateways' name for it).</summary>
    [JsonPropertyName("reasoning_content")] public string? ReasoningContent { get; set; }

    [JsonPropertyName("refusal")] public string? Refusal { get; set; }
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    /// <summary>
    /// An answer's message. Its content is null when the answer is only tool calls, as OpenAI sends it;
    /// empty reasoning is left out.
    /// </summary>
    public static ChatMessage FromAssistant(string text, string? reasoning, List<ToolCall>? toolCalls) => new()
    {
        Role = ChatRoles.Assistant,
        Content = text.Length > 0 || toolCalls is not { Count: > 0 } ? MessageContent.FromText(text) : null,
        ReasoningContent = string.IsNullOrEmpty(reasoning) ? null : reasoning,
        ToolCalls = toolCalls is { Count: > 0 } ? toolCalls : null,
    };

    /// <summary>The text of the content: the string, or the text parts joined; empty when there is none.</summary>
    [JsonIgnore] public string Text => Content?.JoinedText() ?? "";
}

/// <summary>A function the model may call.</summary>
public sealed class ToolDefinition
{
    [JsonPropertyName("type")] public string Type { get; set; } = "function";
    [JsonPropertyName("function")] public FunctionDefinition? Function { get; set; }
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }
}

public sealed class FunctionDefinition
{
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("description")] public string? Description { get; set; }

    /// <summary>A JSON Schema object, kept as the client wrote it.</summary>
    [JsonPropertyName("parameters")] public JsonElement? Parameters { get; set; }

    [JsonPropertyName("strict")] public bool? Strict { get; set; }
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }
}

/// <summary>A call the model made; <see cref="FunctionCall.Arguments"/> is a JSON text, as on OpenAI's wire.</summary>
public sealed class ToolCall
{
    public static ToolCall Of(string id, string name, string arguments) => new() { Id = id, Function = new FunctionCall { Name = name, Arguments = arguments } };

    [JsonPropertyName("id")] public string Id { get; set; } = "";
    [JsonPropertyName("type")] public string Type { get; set; } = "function";
    [JsonPropertyName("function")] public FunctionCall Function { get; set; } = new();
}

public sealed class FunctionCall
{
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("arguments")] public string Arguments { get; set; } = "";
}

/// <summary>Which tool the model must, may or must not call: a mode, or one function by name.</summary>
[JsonConverter(typeof(ToolChoiceConverter))]
public sealed record ToolChoice(string Mode, string? FunctionName = null)
{
    public const string Auto = "auto";
    public const string None = "none";
    public const string Required = "required";

    /// <summary>The mode of a choice that names one function.</summary>
    public const string Function = "function";

    public static ToolChoice ForFunction(string name) => new(Function, name);
}

/// <summary>How the answer must be shaped: text, any JSON object, or JSON matching a schema.</summary>
public sealed class ResponseFormat
{
    public const string TextType = "text";
    public const string JsonObjectType = "json_object";
    public const string JsonSchemaType = "json_schema";

    [JsonPropertyName("type")] public string Type { get; set; } = TextType;
    [JsonPropertyName("json_schema")] public JsonSchemaFormat? JsonSchema { get; set; }
}

public sealed class JsonSchemaFormat
{
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("description")] public string? Description { get; set; }
    [JsonPropertyName("schema")] public JsonElement? Schema { get; set; }
    [JsonPropertyName("strict")] public bool? Strict { get; set; }
}
