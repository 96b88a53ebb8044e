using Gateway.Core.Sse;

namespace Gateway.Core.Pricing;

/// <summary>What a model costs, in USD per million tokens; a cache price left unset is the input price.</summary>
public sealed record ModelPrice(decimal Input, decimal Output, decimal? CachedInput = null, decimal? CacheWrite = null)
{
    /// <summary>
    /// The cost of a call in nano-dollars (1e-9 USD; a price per million tokens is that many thousand
    /// nano-dollars per token). Cached and cache-written input tokens are part of the input count and
    /// are priced apart from the rest of it.
    /// </summary>
    public long CostNanos(in TokenUsage usage)
    {
        int cached = Math.Clamp(usage.CachedTokens, 0, Math.Max(0, usage.PromptTokens));
        int written = Math.Clamp(usage.CacheWriteTokens, 0, Math.Max(0, usage.PromptTokens - cached));
        int plain = Math.Max(0, usage.PromptTokens - cached - written);
        decimal usd = plain * Input + cached * (CachedInput ?? Input) + written * (CacheWrite ?? Input) + Math.Max(0, usage.CompletionTokens) * Output;
        return (long)Math.Round(usd * 1000m, MidpointRounding.AwayFromZero);
    }
}
