using Gateway.Core.Caching;
using Gateway.Core.Config;

namespace Gateway.Server.Caching;

/// <summary>What the client's <c>cache-control</c> asked of a cacheable request.</summary>
internal enum CacheDecision : byte
{
    /// <summary>Served from the cache when an entry is there, else asked and stored.</summary>
    Lookup,
    /// <summary><c>no-cache</c>: asked of the provider whatever is stored, and the answer stored.</summary>
    Refresh,
    /// <summary><c>no-store</c>: the cache is neither read nor written.</summary>
    Bypass,
}

/// <summary>One cacheable request's place in the cache: its key, its model's settings, and what may be done.</summary>
/// <param name="Form">What an answer to it is stored as.</param>
/// <param name="Prompt">What the semantic cache compares (the last user message), null when the request is not compared.</param>
/// <param name="Bucket">The semantic bucket: requests the same but for their last message.</param>
internal sealed record CacheTicket(CacheDecision Decision, CacheKey Key, string Scope, string Model, CacheModelConfig Settings, CachedForm Form,
    string? Prompt = null, CacheKey Bucket = default)
{
    /// <summary>The prompt's embedding, once made (a miss stores it with the answer).</summary>
    public float[]? Vector { get; set; }

    public bool Reads => Decision == CacheDecision.Lookup;

    public bool Writes => Decision != CacheDecision.Bypass;

    /// <summary>The <c>x-gateway-cache</c> value of a request that was not a hit.</summary>
    public string NotHit => Decision switch
    {
        CacheDecision.Bypass => CacheResults.Bypass,
        CacheDecision.Refresh => CacheResults.Refresh,
        _ => CacheResults.Miss,
    };
}

/// <summary>The values of <c>x-gateway-cache</c>, the request log's <c>cache</c> column and the metric's <c>result</c> label.</summary>
internal static class CacheResults
{
    public const string Hit = "hit", Miss = "miss", Bypass = "bypass", Refresh = "refresh";
}
