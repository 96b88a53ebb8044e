namespace Gateway.Core.Sse;

/// <summary>Token counts of one call, as the provider reported them.</summary>
public readonly record struct TokenUsage(int PromptTokens, int CompletionTokens, int TotalTokens, int CachedTokens, int ReasoningTokens);
