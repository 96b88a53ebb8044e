using Gateway.Core.Analytics;
using Gateway.Core.Governance;

namespace Gateway.Storage.Tests.Sqlite;

/// <summary>The hourly rollups the request log writer keeps, and the series and top lists read from them.</summary>
public sealed class SqliteAnalyticsTests() : AnalyticsTests(StoreEngine.Sqlite);

public sealed class PostgresAnalyticsTests() : AnalyticsTests(StoreEngine.Postgres);

public abstract class AnalyticsTests : IDisposable
{
    private const long Hour = 3_600_000, Day = 24 * Hour;
    private static readonly long T0 = new DateTimeOffset(2026, 11, 30, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
    private readonly TempStore _temp;
    private readonly IGovernanceStore _store;
    private readonly IRequestLogStore _log;

    protected AnalyticsTests(StoreEngine engine)
    {
        _temp = new TempStore("gw-analytics-", engine);
        _store = _temp.Governance;
        _log = _temp.Log;
    }

    public void Dispose() => _temp.Dispose();

    private static RequestLogRow Row(string id, long time, string key, string model, int status = 200, double ms = 100, long cost = 1000, string? cache = null,
        string? team = null, string? provider = "mock", int input = 10, int output = 5) => new()
    {
        Id = id, Time = time, KeyId = key, Team = team, Tenant = team is null ? null : "acme", Dialect = "chat", Model = model, Provider = provider,
        ProviderModel = provider is null ? null : "echo", Attempts = provider is null ? 0 : 1, Status = status, Outcome = status < 400 ? "Answered" : "ProviderError",
        InputTokens = input, OutputTokens = output, CostNanos = cost, DurationMs = ms, UpstreamMs = ms * 0.9, Cache = cache, Policies = "pii,tag",
    };

    [Fact]
    public void Series_ByHour_CountsRequestsErrorsTokensCostAndHits_AcrossBatches()
    {
        _log.Write([Row("a", T0 + 10, "k1", "gpt"), Row("b", T0 + 20, "k1", "gpt", status: 502, cost: 0), Row("c", T0 + Hour + 5, "k1", "gpt", cache: "hit", cost: 0)]);
        _log.Write([Row("d", T0 + 30, "k1", "gpt", ms: 300)]); // a later batch adds to the same hour's row

        var points = _store.Series(new SeriesQuery(SeriesInterval.Hour, SeriesGroup.None, T0, T0 + Day, AnalyticsFilter.All));
        Assert.Equal([T0, T0 + Hour], points.Select(p => p.Time));
        var first = points[0];
        Assert.Equal((3L, 1L, 0L, 30L, 15L, 2000L), (first.Requests, first.Errors, first.CacheHits, first.InputTokens, first.OutputTokens, first.CostNanos));
        Assert.Equal(500, first.DurationMsSum, 6);
        Assert.Equal(3, first.Latency.Sum());
        Assert.Equal(2, first.Latency[LatencyBuckets.Of(100)]);
        Assert.Equal((1L, 1L), (points[1].Requests, points[1].CacheHits));
    }

    [Fact]
    public void Series_ByDay_AddsTheHoursUp_AndAGroupSplitsTheLines()
    {
        _log.Write([Row("a", T0 + 1, "k1", "gpt", team: "red"), Row("b", T0 + 5 * Hour, "k2", "claude"), Row("c", T0 + Day + 1, "k1", "claude", team: "red"),
            Row("d", T0 + 2, null!, "", status: 401, provider: null, cost: 0, input: 0, output: 0)]);

        var days = _store.Series(new SeriesQuery(SeriesInterval.Day, SeriesGroup.None, T0 + 7 * Hour, T0 + 3 * Day, AnalyticsFilter.All));
        Assert.Equal([(T0, 3L), (T0 + Day, 1L)], days.Select(p => (p.Time, p.Requests))); // from is widened to its day

        var models = _store.Series(new SeriesQuery(SeriesInterval.Day, SeriesGroup.Model, T0, T0 + 3 * Day, AnalyticsFilter.All));
        Assert.Equal([(T0, "", 1L), (T0, "claude", 1L), (T0, "gpt", 1L), (T0 + Day, "claude", 1L)], models.Select(p => (p.Time, p.Group, p.Requests)));

        var deployments = _store.Series(new SeriesQuery(SeriesInterval.Day, SeriesGroup.Deployment, T0, T0 + Day, AnalyticsFilter.All));
        Assert.Equal([("", 1L), ("mock/echo", 2L)], deployments.Select(p => (p.Group, p.Requests)));

        var teams = _store.Series(new SeriesQuery(SeriesInterval.Day, SeriesGroup.Team, T0, T0 + 3 * Day, new AnalyticsFilter(Key: "k1")));
        Assert.Equal([(T0, "red"), (T0 + Day, "red")], teams.Select(p => (p.Time, p.Group)));
        Assert.Empty(_store.Series(new SeriesQuery(SeriesInterval.Hour, SeriesGroup.None, T0, T0 + Day, new AnalyticsFilter(Tenant: "nobody"))));
    }

    [Fact]
    public void Percentiles_FromTheStoredBuckets_TrackTheDurationsWritten()
    {
        var rows = Enumerable.Range(0, 1000).Select(i => Row($"r{i}", T0 + i, "k1", "gpt", ms: i + 1)).ToList();
        _log.Write(rows);
        var point = _store.Series(new SeriesQuery(SeriesInterval.Hour, SeriesGroup.None, T0, T0 + Hour, AnalyticsFilter.All)).Single();
        Assert.InRange(LatencyBuckets.Quantile(point.Latency, 0.5)!.Value, 500 / 1.19, 500 * 1.19);
        Assert.InRange(LatencyBuckets.Quantile(point.Latency, 0.99)!.Value, 990 / 1.19, 990 * 1.19);
    }

    [Fact]
    public void TopRequests_AreTheSlowestOrCostliest_InTheRange_WithPoliciesAndCache()
    {
        _log.Write([Row("fast", T0 + 1, "k1", "gpt", ms: 5, cost: 9000), Row("slow", T0 + 2, "k1", "gpt", ms: 900, cost: 10, cache: "miss"),
            Row("mid", T0 + 3, "k2", "gpt", ms: 50, cost: 500), Row("outside", T0 + Day, "k1", "gpt", ms: 5000, cost: 99999)]);

        var slowest = _store.TopRequests(new TopQuery(TopOrder.Slowest, T0, T0 + Hour, 2, AnalyticsFilter.All));
        Assert.Equal(["slow", "mid"], slowest.Select(r => r.Id));
        Assert.Equal(("pii,tag", "miss"), (slowest[0].Policies, slowest[0].Cache));
        Assert.Equal(["fast", "mid", "slow"], _store.TopRequests(new TopQuery(TopOrder.Costliest, T0, T0 + Hour, 10, AnalyticsFilter.All)).Select(r => r.Id));
        Assert.Equal(["slow", "fast"], _store.TopRequests(new TopQuery(TopOrder.Slowest, T0, T0 + Hour, 10, new AnalyticsFilter(Key: "k1", Deployment: "mock/echo"))).Select(r => r.Id));
    }
}
