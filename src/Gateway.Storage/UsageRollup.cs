using Gateway.Core.Analytics;
using Gateway.Core.Governance;

namespace Gateway.Storage;

/// <summary>
/// A batch of request rows summed in memory before it is written, whatever the database: daily usage per
/// key, model and day (what providers answered for, and the answers the cache served in their place), and
/// the analytics' hourly groups with their latency buckets. Each sum then takes one upsert, not one per row.
/// </summary>
public sealed class UsageRollup
{
    public readonly record struct DayKey(long Day, string Key, string Model);

    public sealed class DaySum(string team, string tenant)
    {
        public string Team { get; } = team;
        public string Tenant { get; } = tenant;
        public long Requests, Input, Output, Cached, Reasoning, Cost, Hits;
    }

    public readonly record struct HourKey(long Hour, string Key, string Team, string Tenant, string Model, string Deployment);

    public sealed class HourSum
    {
        public long Requests, Errors, Hits, Input, Output, Cached, Cost;
        public double Duration;
        public readonly Dictionary<int, long> Buckets = [];
    }

    public Dictionary<DayKey, DaySum> Days { get; } = [];
    public Dictionary<HourKey, HourSum> Hours { get; } = [];

    // Keyed by provider and model apart first: the deployment's name is made once per group, not per row.
    private readonly Dictionary<(long, string, string, string, string, string, string), HourSum> _hours = [];

    public static UsageRollup Of(IReadOnlyList<RequestLogRow> rows)
    {
        var rollup = new UsageRollup();
        foreach (var row in rows) rollup.Add(row);
        foreach (var ((hour, key, team, tenant, model, provider, providerModel), sum) in rollup._hours)
            rollup.Hours[new HourKey(hour, key, team, tenant, model, provider.Length == 0 ? "" : $"{provider}/{providerModel}")] = sum;
        return rollup;
    }

    private void Add(in RequestLogRow row)
    {
        var group = (HourOf(row.Time), row.KeyId ?? "", row.Team ?? "", row.Tenant ?? "", row.Model ?? "", row.Provider ?? "", row.ProviderModel ?? "");
        if (!_hours.TryGetValue(group, out var hour)) _hours[group] = hour = new HourSum();
        hour.Requests++;
        if (row.IsError) hour.Errors++;
        // A hit's tokens are what it saved, not what a provider was paid for: its row in the log keeps them.
        bool hit = row.Cache == "hit";
        if (hit) hour.Hits++;
        else
        {
            hour.Input += row.InputTokens;
            hour.Output += row.OutputTokens;
            hour.Cached += row.CachedTokens;
            hour.Cost += row.CostNanos;
        }
        hour.Duration += row.DurationMs;
        int bucket = LatencyBuckets.Of(row.DurationMs);
        hour.Buckets[bucket] = hour.Buckets.GetValueOrDefault(bucket) + 1;

        // Daily usage: what providers answered for and what the cache served; requests that got neither add nothing,
        // and a row whose usage was settled on its own as it ended (UsageSettled) is already counted.
        if ((row.Provider is null && !hit) || row.UsageSettled) return;
        var day = new DayKey(DayOf(row.Time), row.KeyId ?? "", row.Model ?? "");
        if (!Days.TryGetValue(day, out var sum)) Days[day] = sum = new DaySum(row.Team ?? "", row.Tenant ?? "");
        if (hit)
        {
            sum.Hits++;
            return;
        }
        sum.Requests++;
        sum.Input += row.InputTokens;
        sum.Output += row.OutputTokens;
        sum.Cached += row.CachedTokens;
        sum.Reasoning += row.ReasoningTokens;
        sum.Cost += row.CostNanos;
    }

    /// <summary>The UTC day a time falls in, as Unix milliseconds of its midnight.</summary>
    public static long DayOf(long unixMs) => unixMs - (((unixMs % 86_400_000) + 86_400_000) % 86_400_000);

    /// <summary>The UTC hour a time falls in, as Unix milliseconds of its start.</summary>
    public static long HourOf(long unixMs) => unixMs - (((unixMs % 3_600_000) + 3_600_000) % 3_600_000);
}
