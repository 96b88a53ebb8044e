using Gateway.Core.Sse;

namespace Gateway.Server.Pipeline;

/// <summary>
/// What one request was, once it has ended: who asked, what was routed where, what it cost in tokens
/// and time, and how it ended. Handed to every <see cref="IRequestSink"/> exactly once. A struct read
/// in place: making it costs nothing but the copies of a few references and numbers.
/// </summary>
internal readonly struct RequestRecord
{
    public required string RequestId { get; init; }
    public required string Method { get; init; }
    public required string Path { get; init; }
    /// <summary>The inbound API: <c>chat</c>, <c>messages</c>, <c>embeddings</c>.</summary>
    public required string Dialect { get; init; }
    /// <summary>The gateway key's id; null when none was accepted.</summary>
    public string? KeyId { get; init; }
    /// <summary>The stored key's team and tenant (the team's tenant when the key names only a team).</summary>
    public string? Team { get; init; }
    public string? Tenant { get; init; }
    /// <summary>The model as the client named it (an alias or <c>provider/model</c>), when the body was read that far.</summary>
    public string? Model { get; init; }
    /// <summary>The provider and model of the last deployment tried; null when nothing was sent.</summary>
    public string? Provider { get; init; }
    public string? ProviderModel { get; init; }
    /// <summary>Calls made to providers (retries and fallbacks included); zero when none went out.</summary>
    public int Attempts { get; init; }
    public string? Fallback { get; init; }
    public bool Stream { get; init; }
    /// <summary>The status the client got (499 when it went away first).</summary>
    public int Status { get; init; }
    /// <summary>The error code of a refused or failed request (<c>model_not_found</c>, <c>upstream_timeout</c>...).</summary>
    public string? ErrorCode { get; init; }
    public RequestOutcome Outcome { get; init; }
    public TimeSpan Total { get; init; }
    /// <summary>From the first attempt's send to the answer's last byte: the providers' share, retries included.</summary>
    public TimeSpan Upstream { get; init; }
    /// <summary>The gateway's own share: <see cref="Total"/> minus <see cref="Upstream"/>.</summary>
    public TimeSpan Overhead => Total > Upstream ? Total - Upstream : TimeSpan.Zero;
    /// <summary>From the request's arrival to the first event the client got; null for answers that are not streamed.</summary>
    public TimeSpan? TimeToFirstToken { get; init; }
    /// <summary>Token counts as the provider reported them; null when it reported none.</summary>
    public TokenUsage? Usage { get; init; }
    /// <summary>What the call cost in nano-dollars (1e-9 USD) at the deployment's price; null when no price is known or nothing was counted.</summary>
    public long? CostNanos { get; init; }
    /// <summary>Bodies kept for the request log (<c>storage.logBodies</c>); null otherwise.</summary>
    public string? RequestBody { get; init; }
    public string? ResponseBody { get; init; }
    /// <summary>The policies bound to the request, comma-separated in the order they run; null when none.</summary>
    public string? Policies { get; init; }
    /// <summary>What the response cache did (<c>hit</c>, <c>miss</c>, <c>bypass</c>, <c>refresh</c>); null when the model is not cached.</summary>
    public string? Cache { get; init; }
    /// <summary>A semantic hit's cosine similarity to the prompt it answered.</summary>
    public double? CacheSimilarity { get; init; }
    /// <summary>The commit of its usage to the shared store as it ended (<see cref="Governance.UsageSettlement"/>): true once committed; null when there is none.</summary>
    public Task<bool>? UsageCommit { get; init; }
}
