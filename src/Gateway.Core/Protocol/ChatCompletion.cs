using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gateway.Core.Protocol;

/// <summary>The canonical whole answer: an OpenAI <c>chat.completion</c>.</summary>
public sealed class ChatCompletion
{
    [JsonPropertyName("id")] public string Id { get; set; } = "";
    [JsonPropertyName("object")] public string Object { get; set; } = "chat.completion";
    [JsonPropertyName("created")] public long Created { get; set; }
    [JsonPropertyName("model")] public string Model { get; set; } = "";
    [JsonPropertyName("choices")] public List<ChatChoice> Choices { get; set; } = [];
    [JsonPropertyName("usage")] public Usage? Usage { get; set; }
    [JsonPropertyName("system_fingerprint")] public string? SystemFingerprint { get; set; }
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    /// <summary>An answer with one choice, as every non-OpenAI adapter produces.</summary>
    public static ChatCompletion Single(string id, long created, string model, ChatMessage message, string finishReason, Usage? usage) => new()
    {
        Id = id,
        Created = created,
        Model = model,
        Choices = [new ChatChoice { Message = message, FinishReason = finishReason }],
        Usage = usage,
    };
}

public sealed class ChatChoice
{
    [JsonPropertyName("index")] public int Index { get; set; }
    [JsonPropertyName("message")] public ChatMessage Message { get; set; } = new();

    /// <summary>See <see cref="FinishReasons"/>.</summary>
    [JsonPropertyName("finish_reason"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] public string? FinishReason { get; set; }
}

/// <summary>One frame of a streamed answer: an OpenAI <c>chat.completion.chunk</c>.</summary>
public sealed class ChatCompletionChunk
{
    [JsonPropertyName("id")] public string Id { get; set; } = "";
    [JsonPropertyName("object")] public string Object { get; set; } = "chat.completion.chunk";
    [JsonPropertyName("created")] public long Created { get; set; }
    [JsonPropertyName("model")] public string Model { get; set; } = "";
    [JsonPropertyName("choices")] public List<ChunkChoice> Choices { get; set; } = [];
    [JsonPropertyName("usage")] public Usage? Usage { get; set; }
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }
}

public sealed class ChunkChoice
{
    [JsonPropertyName("index")] public int Index { get; set; }
    [JsonPropertyName("delta")] public ChatDelta Delta { get; set; } = new();
    [JsonPropertyName("finish_reason"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] public string? FinishReason { get; set; }
}

/// <summary>What one chunk adds to the answer.</summary>
public sealed class ChatDelta
{
    [JsonPropertyName("role")] public string? Role { get; set; }
    [JsonPropertyName("content")] public string? Content { get; set; }
    [JsonPropertyName("reasoning_content")] public string? ReasoningContent { get; set; }
    [JsonPropertyName("tool_calls")] public List<ToolCallDelta>? ToolCalls { get; set; }
    [JsonPropertyName("refusal")] public string? Refusal { get; set; }
}

/// <summary>A fragment of a streamed tool call: the first for an index carries id and name, later ones argument text.</summary>
public sealed class ToolCallDelta
{
    [JsonPropertyName("index")] public int Index { get; set; }
    [JsonPropertyName("id")] public string? Id { get; set; }
    [JsonPropertyName("type")] public string? Type { get; set; }
    [JsonPropertyName("function")] public FunctionCallDelta? Function { get; set; }
}

public sealed class FunctionCallDelta
{
    [JsonPropertyName("name")] public string? Name { get; set; }
    [JsonPropertyName("arguments")] public string? Arguments { get; set; }
}

/// <summary>The reasons an answer ends, as OpenAI names them; every adapter maps its own onto these.</summary>
public static class FinishReasons
{
    public const string Stop = "stop";
    public const string Length = "length";
    public const string ToolCalls = "tool_calls";
    public const string ContentFilter = "content_filter";

    /// <summary>The legacy <c>function_call</c> ending.</summary>
    public const string FunctionCall = "function_call";
}

/// <summary>
/// Token counts. <see cref="PromptTokens"/> includes cached input and <see cref="CompletionTokens"/>
/// includes reasoning, as OpenAI counts them; the details say how much of each.
/// </summary>
public sealed class Usage
{
    [JsonPropertyName("prompt_tokens")] public int PromptTokens { get; set; }
    [JsonPropertyName("completion_tokens")] public int CompletionTokens { get; set; }
    [JsonPropertyName("total_tokens")] public int TotalTokens { get; set; }
    [JsonPropertyName("prompt_tokens_details")] public PromptTokensDetails? PromptTokensDetails { get; set; }
    [JsonPropertyName("completion_tokens_details")] public CompletionTokensDetails? CompletionTokensDetails { get; set; }

    /// <summary>Counts with the details present only when non-zero, as OpenAI reports them.</summary>
    public static Usage Of(int prompt, int completion, int cached = 0, int reasoning = 0) => new()
    {
        PromptTokens = prompt,
        CompletionTokens = completion,
        TotalTokens = prompt + completion,
        PromptTokensDetails = cached > 0 ? new PromptTokensDetails { CachedTokens = cached } : null,
        CompletionTokensDetails = reasoning > 0 ? new CompletionTokensDetails { ReasoningTokens = reasoning } : null,
    };

    [JsonIgnore] public int CachedTokens => PromptTokensDetails?.CachedTokens ?? 0;
    [JsonIgnore] public int ReasoningTokens => CompletionTokensDetails?.ReasoningTokens ?? 0;

    /// <summary>The counts as the gateway records them.</summary>
    public Sse.TokenUsage ToTokenUsage() => new(PromptTokens, CompletionTokens, TotalTokens, CachedTokens, ReasoningTokens);
}

public sealed class PromptTokensDetails
{
    [JsonPropertyName("cached_tokens")] public int CachedTokens { get; set; }
    [JsonPropertyName("audio_tokens")] public int? AudioTokens { get; set; }
}

public sealed class CompletionTokensDetails
{
    [JsonPropertyName("reasoning_tokens")] public int ReasoningTokens { get; set; }
    [JsonPropertyName("audio_tokens")] public int? AudioTokens { get; set; }
    [JsonPropertyName("accepted_prediction_tokens")] public int? AcceptedPredictionTokens { get; set; }
    [JsonPropertyName("rejected_prediction_tokens")] public int? RejectedPredictionTokens { get; set; }
}
