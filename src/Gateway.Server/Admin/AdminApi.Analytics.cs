using System.Text.Json;
using Gateway.Core.Analytics;
using Gateway.Core.Governance;
using Microsoft.AspNetCore.Http;

namespace Gateway.Server.Admin;

internal sealed partial class AdminApi
{
    private const int MaxSeriesPoints = 20_000, DefaultTop = 20, MaxTop = 200;

    /// <summary>
    /// <c>GET /admin/v1/analytics/series?interval=hour|day|range&amp;groupBy=none|key|team|tenant|model|deployment&amp;from&amp;to</c>
    /// (filters: <c>key team tenant model deployment</c>): per interval and group, requests, errors, cache hits,
    /// tokens, cost and latency (mean, p50, p95, p99), read from the hourly rollups. Intervals in which
    /// nothing happened are left out; <c>range</c> gives one point per group for the whole range. The
    /// default range is the last 30 days by day, else the last 24 hours.
    /// </summary>
    private byte[] Series(IQueryCollection query, IGovernanceStore store)
    {
        string intervalName = Query(query, "interval") ?? "hour";
        var interval = intervalName switch
        {
            "hour" => SeriesInterval.Hour,
            "day" => SeriesInterval.Day,
            "range" => SeriesInterval.Range,
            _ => throw new AdminError(400, "invalid_request", $"interval: hour, day or range (not '{intervalName}')"),
        };
        string groupName = Query(query, "groupBy") ?? "none";
        var group = groupName switch
        {
            "none" => SeriesGroup.None,
            "key" => SeriesGroup.Key,
            "team" => SeriesGroup.Team,
            "tenant" => SeriesGroup.Tenant,
            "model" => SeriesGroup.Model,
            "deployment" => SeriesGroup.Deployment,
            _ => throw new AdminError(400, "invalid_request", $"groupBy: one of none, key, team, tenant, model, deployment (not '{groupName}')"),
        };
        long to = Instant(query, "to") ?? Now();
        long from = Instant(query, "from") ?? to - (interval == SeriesInterval.Day ? 30 * 86_400_000L : 24 * 3_600_000L);
        if (from >= to) throw new AdminError(400, "invalid_request", "from must be before to");
        var points = store.Series(new SeriesQuery(interval, group, from, to, Filter(query)));
        if (points.Count > MaxSeriesPoints)
            throw new AdminError(400, "range_too_large", $"The answer would hold {points.Count} points (at most {MaxSeriesPoints}): narrow the range, use interval=day, or filter.");
        return Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "analytics.series");
            w.WriteString("interval", intervalName);
            w.WriteString("groupBy", groupName);
            w.WriteString("from", Iso(from));
            w.WriteString("to", Iso(to));
            WriteTotals(w, points);
            w.WriteStartArray("data");
            foreach (var p in points)
            {
                w.WriteStartObject();
                w.WriteString("time", Iso(p.Time));
                if (group != SeriesGroup.None)
                {
                    // Requests with no key, model or provider are grouped under null.
                    if (p.Group.Length == 0) w.WriteNull("group");
                    else w.WriteString("group", p.Group);
                }
                WriteCounts(w, p.Requests, p.Errors, p.CacheHits, p.InputTokens, p.OutputTokens, p.CachedTokens, p.CostNanos, p.DurationMsSum, p.Latency);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    /// <summary>The whole range at once, as the sum of its points (histograms merged, so the percentiles are the range's).</summary>
    private static void WriteTotals(Utf8JsonWriter w, IReadOnlyList<SeriesPoint> points)
    {
        long requests = 0, errors = 0, hits = 0, input = 0, output = 0, cached = 0, cost = 0;
        double duration = 0;
        var latency = new long[LatencyBuckets.Count];
        foreach (var p in points)
        {
            requests += p.Requests;
            errors += p.Errors;
            hits += p.CacheHits;
            input += p.InputTokens;
            output += p.OutputTokens;
            cached += p.CachedTokens;
            cost += p.CostNanos;
            duration += p.DurationMsSum;
            for (int i = 0; i < latency.Length; i++) latency[i] += p.Latency[i];
        }
        w.WriteStartObject("totals");
        WriteCounts(w, requests, errors, hits, input, output, cached, cost, duration, latency);
        w.WriteEndObject();
    }

    private static void WriteCounts(Utf8JsonWriter w, long requests, long errors, long hits, long input, long output, long cached, long cost, double duration, long[] latency)
    {
        w.WriteNumber("requests", requests);
        w.WriteNumber("errors", errors);
        w.WriteNumber("cacheHits", hits);
        w.WriteNumber("inputTokens", input);
        w.WriteNumber("outputTokens", output);
        w.WriteNumber("cachedTokens", cached);
        w.WriteNumber("costUsd", Budget.ToUsd(cost));
        w.WriteStartObject("latencyMs");
        if (requests > 0) w.WriteNumber("mean", Math.Round(duration / requests, 3));
        else w.WriteNull("mean");
        Percentile(w, "p50", latency, 0.50);
        Percentile(w, "p95", latency, 0.95);
        Percentile(w, "p99", latency, 0.99);
        w.WriteEndObject();
    }

    private static void Percentile(Utf8JsonWriter w, string name, long[] latency, double q)
    {
        if (LatencyBuckets.Quantile(latency, q) is { } ms) w.WriteNumber(name, Math.Round(ms, 3));
        else w.WriteNull(name);
    }

    /// <summary>
    /// <c>GET /admin/v1/analytics/requests?sort=slowest|costliest&amp;from&amp;to&amp;limit</c> (the same filters as
    /// the series): the request rows still in the log, most first. The default range is the last 24 hours.
    /// </summary>
    private byte[] TopRequests(IQueryCollection query, IGovernanceStore store)
    {
        string sortName = Query(query, "sort") ?? "slowest";
        var order = sortName switch
        {
            "slowest" => TopOrder.Slowest,
            "costliest" => TopOrder.Costliest,
            _ => throw new AdminError(400, "invalid_request", $"sort: slowest or costliest (not '{sortName}')"),
        };
        long to = Instant(query, "to") ?? Now() + 1;
        long from = Instant(query, "from") ?? to - 24 * 3_600_000L;
        int limit = (int)(Number(query, "limit", 1, MaxTop) ?? DefaultTop);
        var rows = store.TopRequests(new TopQuery(order, from, to, limit, Filter(query)));
        return Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteString("sort", sortName);
            w.WriteString("from", Iso(from));
            w.WriteString("to", Iso(to));
            w.WriteStartArray("data");
            foreach (var r in rows) WriteLogRow(w, r);
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static AnalyticsFilter Filter(IQueryCollection query) =>
        new(Query(query, "key"), Query(query, "team"), Query(query, "tenant"), Query(query, "model"), Query(query, "deployment"));
}
