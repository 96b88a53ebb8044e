namespace Gateway.Core.Sse;

/// <summary>Token counts of one call, as the provider reported them.</summary>
/// <param name="PromptTokens">Every input token, cached and cache-written ones included (OpenAI's <c>prompt_tokens</c>).</param>
/// <param name="CachedTokens">Input tokens read from the provider's prompt cache.</param>
/// <param name="ReasoningTokens">Output tokens spent thinking (part of <paramref name="CompletionTokens"/>).</param>
/// <param name="CacheWriteTokens">Input tokens written to the provider's prompt cache, where the provider says (Anthropic's <c>cache_creation_input_tokens</c>).</param>
public readonly record struct TokenUsage(int PromptTokens, int CompletionTokens, int TotalTokens, int CachedTokens, int ReasoningTokens, int CacheWriteTokens = 0);
