namespace Gateway.Core.Analytics;

/// <summary>Hourly or daily points, or <see cref="Range"/>: one point per group for the whole range (dated at its start).</summary>
public enum SeriesInterval { Hour, Day, Range }

/// <summary>What a series is split by; <see cref="None"/> gives one line for everything.</summary>
public enum SeriesGroup { None, Key, Team, Tenant, Model, Deployment }

/// <summary>Narrows analytics to one key, team, tenant, model (as clients named it) or deployment (<c>provider/model</c>); null matches all.</summary>
public sealed record AnalyticsFilter(string? Key = null, string? Team = null, string? Tenant = null, string? Model = null, string? Deployment = null)
{
    public static AnalyticsFilter All { get; } = new();
}

/// <summary>A time series over <c>[From, To)</c> (Unix ms, widened to whole UTC hours or days).</summary>
public sealed record SeriesQuery(SeriesInterval Interval, SeriesGroup GroupBy, long From, long To, AnalyticsFilter Filter);

/// <summary>
/// One interval of one group: counts, tokens, cost, the summed duration (for the mean) and the latency
/// histogram (<see cref="LatencyBuckets"/>) for percentiles. Group is empty for requests that had none
/// (no key accepted, no model read, no provider called).
/// </summary>
public sealed record SeriesPoint(long Time, string Group, long Requests, long Errors, long CacheHits, long InputTokens, long OutputTokens, long CachedTokens,
    long CostNanos, double DurationMsSum, long[] Latency);

public enum TopOrder { Slowest, Costliest }

/// <summary>The requests in <c>[From, To)</c> with the longest duration or the highest cost, most first.</summary>
public sealed record TopQuery(TopOrder Order, long From, long To, int Limit, AnalyticsFilter Filter);
