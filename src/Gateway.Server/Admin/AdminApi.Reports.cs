using System.Globalization;
using System.Text.Json;
using Gateway.Core.Governance;
using Microsoft.AspNetCore.Http;

namespace Gateway.Server.Admin;

internal sealed partial class AdminApi
{
    private const int DefaultPage = 50, MaxPage = 1000;

    /// <summary><c>GET /admin/v1/usage?groupBy=key|team|tenant|model|day&amp;from&amp;to</c>: totals per group over whole UTC days.</summary>
    private byte[] Usage(IQueryCollection query, IGovernanceStore store)
    {
        string groupName = Query(query, "groupBy") ?? "key";
        UsageGroup group = groupName switch
        {
            "key" => UsageGroup.Key,
            "team" => UsageGroup.Team,
            "tenant" => UsageGroup.Tenant,
            "model" => UsageGroup.Model,
            "day" => UsageGroup.Day,
            _ => throw new AdminError(400, "invalid_request", $"groupBy: one of key, team, tenant, model, day (not '{groupName}')"),
        };
        long from = Instant(query, "from") ?? 0;
        long to = Instant(query, "to") ?? Now() + 86_400_000;
        var rows = store.Usage(group, from, to);
        return Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteString("groupBy", groupName);
            w.WriteString("from", Iso(from));
            w.WriteString("to", Iso(to));
            w.WriteStartArray("data");
            foreach (var row in rows)
            {
                // Requests of config keys with no team or tenant are grouped under null.
                w.WriteStartObject();
                if (row.Group.Length == 0) w.WriteNull(groupName);
                else w.WriteString(groupName, row.Group);
                w.WriteNumber("requests", row.Requests);
                w.WriteNumber("inputTokens", row.InputTokens);
                w.WriteNumber("outputTokens", row.OutputTokens);
                w.WriteNumber("cachedTokens", row.CachedTokens);
                w.WriteNumber("costUsd", Budget.ToUsd(row.CostNanos));
                w.WriteNumber("cacheHits", row.CacheHits);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    /// <summary><c>GET /admin/v1/logs?key&amp;model&amp;status&amp;team&amp;tenant&amp;from&amp;to&amp;limit&amp;before</c>: request rows, newest first, paged by <c>before</c>.</summary>
    private byte[] Logs(IQueryCollection query, IGovernanceStore store)
    {
        int? status = null;
        if (Query(query, "status") is { } s)
            status = int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int code) && code is >= 100 and <= 599 ? code
                : throw new AdminError(400, "invalid_request", "status: an HTTP status code such as 429");
        var (rows, next) = store.Logs(new LogQuery(Query(query, "key"), Query(query, "model"), status, Instant(query, "from"), Instant(query, "to"),
            Number(query, "before", 1, long.MaxValue), (int)(Number(query, "limit", 1, MaxPage) ?? DefaultPage), Query(query, "team"), Query(query, "tenant")));
        return Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            foreach (var r in rows) WriteLogRow(w, r);
            w.WriteEndArray();
            if (next is { } before) w.WriteNumber("nextBefore", before);
            else w.WriteNull("nextBefore");
            w.WriteEndObject();
        });
    }

    /// <summary>A request log row as the admin API shows it (logs, and the analytics' slowest and costliest).</summary>
    private static void WriteLogRow(Utf8JsonWriter w, LogRow r)
    {
        w.WriteStartObject();
        w.WriteString("id", r.Id);
        w.WriteString("time", Iso(r.Time));
        Nullable(w, "key", r.Key);
        Nullable(w, "team", r.Team);
        Nullable(w, "tenant", r.Tenant);
        w.WriteString("dialect", r.Dialect);
        Nullable(w, "model", r.Model);
        Nullable(w, "provider", r.Provider);
        Nullable(w, "deployment", r.Provider is null ? null : $"{r.Provider}/{r.ProviderModel}");
        w.WriteNumber("attempts", r.Attempts);
        w.WriteBoolean("stream", r.Stream);
        w.WriteNumber("status", r.Status);
        w.WriteString("outcome", r.Outcome);
        Nullable(w, "errorCode", r.ErrorCode);
        w.WriteNumber("inputTokens", r.InputTokens);
        w.WriteNumber("outputTokens", r.OutputTokens);
        w.WriteNumber("cachedTokens", r.CachedTokens);
        w.WriteNumber("reasoningTokens", r.ReasoningTokens);
        w.WriteNumber("costUsd", Budget.ToUsd(r.CostNanos));
        w.WriteNumber("durationMs", Math.Round(r.DurationMs, 3));
        if (r.TtftMs is { } ttft) w.WriteNumber("ttftMs", Math.Round(ttft, 3));
        else w.WriteNull("ttftMs");
        w.WriteNumber("upstreamMs", Math.Round(r.UpstreamMs, 3));
        w.WriteNumber("overheadMs", Math.Round(Math.Max(0, r.DurationMs - r.UpstreamMs), 3));
        Nullable(w, "policies", r.Policies);
        Nullable(w, "cache", r.Cache);
        if (r.CacheSimilarity is { } similarity) w.WriteNumber("cacheSimilarity", Math.Round(similarity, 4));
        if (r.RequestBody is not null) w.WriteString("requestBody", r.RequestBody);
        if (r.ResponseBody is not null) w.WriteString("responseBody", r.ResponseBody);
        w.WriteEndObject();
    }

    /// <summary><c>GET /admin/v1/audit?entity&amp;id&amp;limit&amp;before</c>: admin changes, newest first.</summary>
    private byte[] Audit(IQueryCollection query, IGovernanceStore store)
    {
        int limit = (int)(Number(query, "limit", 1, MaxPage) ?? DefaultPage);
        var entries = store.Audit(Number(query, "before", 1, long.MaxValue), limit + 1, Query(query, "entity"), Query(query, "id"));
        return Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            foreach (var e in entries.Take(limit))
            {
                w.WriteStartObject();
                w.WriteNumber("id", e.Id);
                w.WriteString("time", Iso(e.Time));
                w.WriteString("actor", e.Actor);
                w.WriteString("action", e.Action);
                w.WriteString("entity", e.Entity);
                w.WriteString("entityId", e.EntityId);
                Raw(w, "before", e.Before);
                Raw(w, "after", e.After);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (entries.Count > limit) w.WriteNumber("nextBefore", entries[limit - 1].Id);
            else w.WriteNull("nextBefore");
            w.WriteEndObject();
        });
    }

    private static void Nullable(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null) w.WriteNull(name);
        else w.WriteString(name, value);
    }

    private static void Raw(Utf8JsonWriter w, string name, string? json)
    {
        if (json is null) w.WriteNull(name);
        else
        {
            w.WritePropertyName(name);
            w.WriteRawValue(json, skipInputValidation: true);
        }
    }

    private static string? Query(IQueryCollection query, string name) =>
        query.TryGetValue(name, out var values) && values.Count > 0 && !string.IsNullOrEmpty(values[^1]) ? values[^1] : null;

    private static long? Number(IQueryCollection query, string name, long min, long max)
    {
        if (Query(query, name) is not { } text) return null;
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long n) && n >= min && n <= max ? n
            : throw new AdminError(400, "invalid_request", $"{name}: a whole number from {min} to {max}");
    }

    /// <summary>A time in a query: an ISO 8601 date or time (UTC unless it says otherwise), or Unix milliseconds.</summary>
    private static long? Instant(IQueryCollection query, string name)
    {
        if (Query(query, name) is not { } text) return null;
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long ms)) return ms;
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)) return at.ToUnixTimeMilliseconds();
        throw new AdminError(400, "invalid_request", $"{name}: an ISO 8601 date or time (2026-12-01, 2026-12-01T12:00:00Z) or Unix milliseconds");
    }
}
