namespace Gateway.Core.Governance;

/// <summary>One request as the store keeps it (a row of <c>request_log</c>, counted into <c>usage_daily</c>, <c>usage_hourly</c> and <c>latency_hourly</c>).</summary>
public readonly record struct RequestLogRow
{
    public required string Id { get; init; }
    /// <summary>When the request ended, Unix milliseconds UTC.</summary>
    public required long Time { get; init; }
    public string? KeyId { get; init; }
    public string? Team { get; init; }
    public string? Tenant { get; init; }
    public required string Dialect { get; init; }
    public string? Model { get; init; }
    public string? Provider { get; init; }
    public string? ProviderModel { get; init; }
    public int Attempts { get; init; }
    public bool Stream { get; init; }
    public int Status { get; init; }
    public required string Outcome { get; init; }
    public string? ErrorCode { get; init; }
    public int InputTokens { get; init; }
    public int OutputTokens { get; init; }
    public int CachedTokens { get; init; }
    public int ReasoningTokens { get; init; }
    /// <summary>Cost in nano-dollars (1e-9 USD).</summary>
    public long CostNanos { get; init; }
    public double DurationMs { get; init; }
    public double? TtftMs { get; init; }
    public double UpstreamMs { get; init; }
    public string? RequestBody { get; init; }
    public string? ResponseBody { get; init; }
    /// <summary>The policies bound to the request, comma-separated in the order they ran; null when none.</summary>
    public string? Policies { get; init; }
    /// <summary>The cache's verdict (<c>hit</c>, <c>miss</c>, <c>bypass</c>); null when the request was not cacheable.</summary>
    public string? Cache { get; init; }
    /// <summary>A semantic hit's cosine similarity to the prompt whose answer it got.</summary>
    public double? CacheSimilarity { get; init; }
    /// <summary>Its usage was settled in the shared store as it ended (<see cref="IUsageLedger"/>): the batch adds it to no daily usage again.</summary>
    public bool UsageSettled { get; init; }

    /// <summary>Counted as an error in analytics: every answer with an error status, the gateway's own refusals included.</summary>
    public bool IsError => Status >= 400;
}

/// <summary>Where request rows go: written in batches off the request path, pruned by age.</summary>
public interface IRequestLogStore
{
    /// <summary>Writes the rows (and their usage) in one transaction; a failure leaves none of them written.</summary>
    void Write(IReadOnlyList<RequestLogRow> rows);

    /// <summary>Deletes request rows older than <paramref name="before"/> (Unix ms); daily usage stays.</summary>
    int DeleteOlderThan(long before);
}

/// <summary>What one ended request adds to daily usage (a row of <c>usage_daily</c>): a provider's answer, or a cache hit.</summary>
public readonly record struct UsageDelta(long Day, string KeyId, string Team, string Tenant, string Model, long Requests, long InputTokens, long OutputTokens,
    long CachedTokens, long ReasoningTokens, long CostNanos, long CacheHits);

/// <summary>
/// Usage settled in the shared store as each request ends, before its connection is released (DESIGN §11):
/// a replica killed with <c>kill -9</c> loses no usage of a request it answered. Concurrent requests share
/// a commit; each waits for its own.
/// </summary>
public interface IUsageLedger
{
    /// <summary>Completes once the delta is committed.</summary>
    /// <exception cref="Exception">The store failed: the delta is not written (the caller keeps it with the request's row instead).</exception>
    ValueTask AddAsync(UsageDelta delta, CancellationToken cancellationToken);
}
