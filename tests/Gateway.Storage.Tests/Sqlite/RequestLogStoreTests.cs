using Gateway.Core.Governance;

namespace Gateway.Storage.Tests.Sqlite;

/// <summary>What the request log writer stores is what the log query reads back, column for column.</summary>
public sealed class SqliteRequestLogStoreTests() : RequestLogStoreTests(StoreEngine.Sqlite);

public sealed class PostgresRequestLogStoreTests() : RequestLogStoreTests(StoreEngine.Postgres);

public abstract class RequestLogStoreTests : IDisposable
{
    private readonly TempStore _temp;
    private readonly IGovernanceStore _store;
    private readonly IRequestLogStore _log;

    protected RequestLogStoreTests(StoreEngine engine)
    {
        _temp = new TempStore("gw-requestlog-", engine);
        _store = _temp.Governance;
        _log = _temp.Log;
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Write_EveryField_ReadsBackInItsOwnColumn()
    {
        // Every value distinct, so a field bound to a neighbour's column cannot pass unseen.
        var full = new RequestLogRow
        {
            Id = "req-1", Time = 1_764_633_600_123, KeyId = "key-a", Team = "team-b", Tenant = "tenant-c", Dialect = "messages", Model = "alias-d",
            Provider = "prov-e", ProviderModel = "model-f", Attempts = 2, Stream = true, Status = 201, Outcome = "Answered", ErrorCode = "code-g",
            InputTokens = 11, OutputTokens = 12, CachedTokens = 13, ReasoningTokens = 14, CostNanos = 15_000, DurationMs = 16.5, TtftMs = 17.25,
            UpstreamMs = 18.75, RequestBody = "{\"q\":\"é\"}", ResponseBody = "{\"a\":1}", Policies = "pii,tag", Cache = "hit",
        };
        var sparse = new RequestLogRow { Id = "req-2", Time = 1_764_633_600_456, Dialect = "chat", Status = 401, Outcome = "Unauthorized" };
        _log.Write([full, sparse]);

        var (rows, _) = _store.Logs(new LogQuery(null, null, null, null, null, null, 10));
        Assert.Equal(2, rows.Count);
        var a = rows.Single(r => r.Id == "req-1");
        Assert.Equal((1_764_633_600_123L, "key-a", "team-b", "tenant-c", "messages", "alias-d", "prov-e", "model-f"),
            (a.Time, a.Key, a.Team, a.Tenant, a.Dialect, a.Model, a.Provider, a.ProviderModel));
        Assert.Equal((2, true, 201, "Answered", "code-g"), (a.Attempts, a.Stream, a.Status, a.Outcome, a.ErrorCode));
        Assert.Equal((11L, 12L, 13L, 14L, 15_000L), (a.InputTokens, a.OutputTokens, a.CachedTokens, a.ReasoningTokens, a.CostNanos));
        Assert.Equal((16.5, (double?)17.25, 18.75), (a.DurationMs, a.TtftMs, a.UpstreamMs));
        Assert.Equal(("{\"q\":\"é\"}", "{\"a\":1}", "pii,tag", "hit"), (a.RequestBody, a.ResponseBody, a.Policies, a.Cache));

        var b = rows.Single(r => r.Id == "req-2");
        Assert.Equal((string?)null, b.Key);
        Assert.Null(b.Model);
        Assert.Null(b.Provider);
        Assert.Null(b.ErrorCode);
        Assert.Null(b.TtftMs);
        Assert.Null(b.RequestBody);
        Assert.Null(b.Cache);
        Assert.Equal((false, 401, "Unauthorized", 0L), (b.Stream, b.Status, b.Outcome, b.InputTokens));
    }

    [Fact]
    public void DailyUsage_CountsAnswersAndHits_NotRefusals_NorRowsSettledAsTheyEnded()
    {
        long t = 1_764_633_600_000;
        RequestLogRow Row(string id, string? provider, string? cache = null, bool settled = false) => new()
        {
            Id = id, Time = t, KeyId = "k", Dialect = "chat", Model = "m", Provider = provider, Status = 200, Outcome = "Answered",
            InputTokens = 10, OutputTokens = 20, CostNanos = 300, Cache = cache, UsageSettled = settled,
        };
        _log.Write([Row("answered", "mock"), Row("refused", null), Row("hit", null, cache: "hit"), Row("settled", "mock", settled: true)]);
        _log.Write([Row("again", "mock")]);

        var usage = _store.Usage(UsageGroup.Key, t - 1, t + 86_400_000).Single();
        Assert.Equal(("k", 2L, 20L, 40L, 600L, 1L), (usage.Group, usage.Requests, usage.InputTokens, usage.OutputTokens, usage.CostNanos, usage.CacheHits));
        // The request log itself keeps every row.
        Assert.Equal(5, _store.Logs(new LogQuery(null, null, null, null, null, null, 10)).Rows.Count);
    }
}
