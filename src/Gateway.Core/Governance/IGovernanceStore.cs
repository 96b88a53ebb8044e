namespace Gateway.Core.Governance;

/// <summary>
/// Where tenants, teams, keys, stored providers, the audit log, budget spend, usage and request logs
/// live. Read at start and after a change, never on a request's path. Every change is written in one
/// transaction with its audit entry and advances <see cref="DirectoryVersion"/>.
/// </summary>
public interface IGovernanceStore
{
    /// <summary>Advances on every change to tenants, teams, keys and stored providers, whoever made it.</summary>
    long DirectoryVersion();

    (IReadOnlyList<Tenant> Tenants, IReadOnlyList<Team> Teams, IReadOnlyList<StoredKey> Keys) LoadDirectory();

    /// <exception cref="GovernanceConflictException">The id is taken, or a reference does not hold.</exception>
    void Insert(Tenant tenant, AuditEntry audit);
    void Update(Tenant tenant, AuditEntry audit);
    void Insert(Team team, AuditEntry audit);
    void Update(Team team, AuditEntry audit);
    void Insert(StoredKey key, AuditEntry audit);
    void Update(StoredKey key, AuditEntry audit);

    /// <summary>Deletes a tenant, team or key row (<paramref name="entity"/> is <c>tenant</c>, <c>team</c> or <c>key</c>).</summary>
    /// <exception cref="GovernanceConflictException">Something still belongs to it.</exception>
    bool Delete(string entity, string id, AuditEntry audit);

    IReadOnlyList<AuditEntry> Audit(long? before, int limit, string? entity = null, string? entityId = null);

    IReadOnlyList<StoredProvider> LoadProviders();
    void Put(StoredProvider provider, AuditEntry audit);
    /// <summary>Re-seals every stored secret at once (key rotation): all or none.</summary>
    void ReplaceSecrets(IReadOnlyList<StoredProvider> providers, AuditEntry audit);

    /// <summary>What each budget has spent in its period, for the periods starting at or after <paramref name="since"/> (and lifetime ones).</summary>
    IReadOnlyList<SpendRow> LoadSpend(long since);
    void AddSpend(IReadOnlyList<SpendRow> deltas);
    /// <summary>What one budget has spent in the period that starts at <paramref name="periodStart"/> (0 when nothing is stored).</summary>
    long SpentIn(string scope, string scopeId, long periodStart);

    IReadOnlyList<UsageRow> Usage(UsageGroup groupBy, long from, long to);
    (IReadOnlyList<LogRow> Rows, long? NextBefore) Logs(LogQuery query);

    /// <summary>Requests, errors, tokens, cost and latency per interval and group, from the hourly rollups; ordered by time, then group.</summary>
    IReadOnlyList<Analytics.SeriesPoint> Series(Analytics.SeriesQuery query);
    /// <summary>The slowest or costliest request rows still in the request log.</summary>
    IReadOnlyList<LogRow> TopRequests(Analytics.TopQuery query);
}

/// <summary>Money spent against one budget in one period, in nano-dollars.</summary>
public readonly record struct SpendRow(string Scope, string ScopeId, long PeriodStart, long SpentNanos);

public enum UsageGroup { Key, Team, Tenant, Model, Day }

/// <param name="Requests">Requests a provider answered; <paramref name="CacheHits"/> those the response cache answered instead (no tokens or cost counted).</param>
public sealed record UsageRow(string Group, long Requests, long InputTokens, long OutputTokens, long CachedTokens, long CostNanos, long CacheHits = 0);

/// <summary>A page of the request log, newest first; <see cref="Before"/> is the cursor a previous page returned.</summary>
public sealed record LogQuery(string? Key, string? Model, int? Status, long? From, long? To, long? Before, int Limit, string? Team = null, string? Tenant = null);

public sealed record LogRow(long Cursor, string Id, long Time, string? Key, string? Team, string? Tenant, string Dialect, string? Model, string? Provider, string? ProviderModel,
    int Attempts, bool Stream, int Status, string Outcome, string? ErrorCode, long InputTokens, long OutputTokens, long CachedTokens, long ReasoningTokens, long CostNanos,
    double DurationMs, double? TtftMs, double UpstreamMs, string? RequestBody, string? ResponseBody, string? Policies = null, string? Cache = null, double? CacheSimilarity = null);

/// <summary>A change the store refused because of what is already there: a taken id, a missing or dependent row.</summary>
public sealed class GovernanceConflictException(string message) : Exception(message);
