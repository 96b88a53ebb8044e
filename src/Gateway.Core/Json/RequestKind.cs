namespace Gateway.Core.Json;

/// <summary>The OpenAI-shaped operations the gateway forwards.</summary>
public enum RequestKind
{
    ChatCompletions,
    Embeddings,
}
