using Gateway.Core.Sse;

namespace Gateway.Core.Caching;

/// <summary>What kind of answer an entry holds, and so how it can be served again.</summary>
public enum CachedForm : byte
{
    /// <summary>A canonical <c>chat.completion</c>: served as JSON or as a stream, in any dialect.</summary>
    Completion,
    /// <summary>A whole JSON answer served again as it came (embeddings, or a dialect's own answer from a provider that speaks it).</summary>
    Json,
    /// <summary>A dialect's own event stream from a provider that speaks it, served again as it came.</summary>
    EventStream,
}

/// <summary>One stored answer. Immutable: a hit reads it while others may be evicting it.</summary>
/// <param name="Scope">Whose it is (<c>t:tenant</c>, <c>k:key</c>): purges select by it.</param>
/// <param name="Model">The model as routed: purges select by it.</param>
/// <param name="Stored">When it was stored, Unix milliseconds.</param>
/// <param name="Expires">When it stops being served, Unix milliseconds.</param>
/// <param name="Usage">What the answer cost when a provider made it (a hit costs nothing; this is what it saved).</param>
public sealed record CachedAnswer(CacheKey Key, string Scope, string Model, CachedForm Form, string ContentType, byte[] Body, long Stored, long Expires, TokenUsage Usage)
{
    /// <summary>What the entry counts against the cache's bound: its body and a fixed allowance for the rest.</summary>
    public long Size => Body.Length + 256 + 2L * (Scope.Length + Model.Length + ContentType.Length);
}
