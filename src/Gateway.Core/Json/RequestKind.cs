namespace Gateway.Core.Json;

/// <summary>The OpenAI-shaped operations the gateway forwards.</summary>
public enum RequestKind
{
    ChatCompletions,
    Embeddings,

    /// <summary>OpenAI's Responses API: a model and an <c>input</c>, answered like a chat.</summary>
    Responses,
}
