namespace Gateway.Core.Config;

/// <summary>
/// The response cache (<c>"cache"</c> in gateway.json): which models are cached and how, and where entries are kept.
/// A model not named in <see cref="Models"/> (and no <c>"*"</c> entry) is not cached at all.
/// </summary>
public sealed record CacheConfig
{
    public const string MemoryStore = "memory", SqliteStore = "sqlite", DatabaseStore = "database", RedisStore = "redis";
    public const long DefaultMaxBytes = 256L * 1024 * 1024;

    /// <summary>
    /// <c>memory</c> (the default: in this process), <c>database</c> (in the store's database, SQLite or PostgreSQL, kept
    /// across restarts; <c>sqlite</c> says the same of a SQLite store) or <c>redis</c> (in <c>storage.redis</c>, shared by replicas);
    /// either way the least recently used entries go past <see cref="MaxBytes"/>. Read at start.
    /// </summary>
    public string Store { get; init; } = MemoryStore;

    /// <summary>What all entries together may hold, in bytes of answers.</summary>
    public long MaxBytes { get; init; } = DefaultMaxBytes;

    /// <summary>Settings by alias, group or <c>provider/model</c>; <c>"*"</c> for every model not named.</summary>
    public IReadOnlyDictionary<string, CacheModelConfig> Models { get; init; } = new Dictionary<string, CacheModelConfig>();

    /// <summary>The local embedder's program; null for <c>GATEWAY_EMBEDDER</c>, else <c>embedder/gateway-embedder</c> beside the gateway.</summary>
    public string? LocalEmbedder { get; init; }

    /// <summary>Prompt embeddings the semantic cache keeps (past it the oldest go): 20,000 of 384 dimensions are about 31 MB.</summary>
    public int SemanticMaxVectors { get; init; } = 20_000;

    public bool Enabled => Models.Count > 0;

    /// <summary>The settings for a request routed as <paramref name="routed"/> (a group's name, or <c>provider/model</c>) that the client named <paramref name="asked"/>; null when it is not cached.</summary>
    public CacheModelConfig? For(string routed, string? asked) =>
        Models.TryGetValue(routed, out var found) || (asked is not null && Models.TryGetValue(asked, out found)) || Models.TryGetValue("*", out found) ? found : null;
}

/// <summary>How one model's answers are cached.</summary>
public sealed record CacheModelConfig
{
    public const int DefaultMaxEntryBytes = 1024 * 1024;

    /// <summary>How long an answer is served from the cache after it was stored.</summary>
    public TimeSpan Ttl { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Answers larger than this are not stored.</summary>
    public int MaxEntryBytes { get; init; } = DefaultMaxEntryBytes;

    /// <summary>Also serve answers to prompts that mean the same; null for the exact cache alone.</summary>
    public SemanticCacheConfig? Semantic { get; init; }
}

/// <summary>The semantic cache: a stored answer is served to a prompt whose embedding is this close to the one it answered.</summary>
public sealed record SemanticCacheConfig
{
    public const string LocalEmbedder = "local";

    /// <summary>The least cosine similarity of a hit.</summary>
    public double Threshold { get; init; } = 0.95;

    /// <summary><c>local</c> (all-MiniLM-L6-v2, in process, no network) or a model the gateway serves (<c>provider/model</c> or an alias) whose embeddings it asks for.</summary>
    public string Embedder { get; init; } = LocalEmbedder;
}
