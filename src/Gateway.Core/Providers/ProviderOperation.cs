namespace Gateway.Core.Providers;

public enum ProviderOperation
{
    ChatCompletions,
    Embeddings,
}
