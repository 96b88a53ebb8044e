using Gateway.Core.Governance;
using Gateway.Storage.Tests.Sqlite;

namespace Gateway.Storage.Tests.Postgres;

/// <summary>The per-request usage commit on a real PostgreSQL server: each request's delta is in the table once its commit completes.</summary>
public sealed class PostgresUsageLedgerTests : IDisposable
{
    private readonly TempStore _temp = new("gw-ledger-", StoreEngine.Postgres);

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task ConcurrentCommits_AddUpExactly_AndEachIsReadableWhenItCompletes()
    {
        var ledger = _temp.Store.Ledger!;
        long day = 1_764_633_600_000;
        // 400 requests at once on 3 keys: batches share commits, and two deltas for one row in one batch are summed, not refused.
        var commits = Enumerable.Range(0, 400).Select(i => ledger.AddAsync(new UsageDelta(day, "k" + (i % 3), "", "", "m", 1, i, 1, 0, 0, 10, i % 10 == 0 ? 1 : 0), default).AsTask()).ToList();
        await Task.WhenAll(commits);
        var rows = _temp.Governance.Usage(UsageGroup.Key, day, day + 1).ToDictionary(r => r.Group);
        Assert.Equal(400, rows.Values.Sum(r => r.Requests));
        Assert.Equal(Enumerable.Range(0, 400).Sum(i => (long)i), rows.Values.Sum(r => r.InputTokens));
        Assert.Equal(4000, rows.Values.Sum(r => r.CostNanos));
        Assert.Equal(40, rows.Values.Sum(r => r.CacheHits));
        Assert.Equal(134, rows["k0"].Requests);

        // One more, read right after its commit: nothing is left for a later batch.
        await ledger.AddAsync(new UsageDelta(day, "k0", "", "", "m", 1, 0, 0, 0, 0, 0, 0), default);
        Assert.Equal(135, _temp.Governance.Usage(UsageGroup.Key, day, day + 1).Single(r => r.Group == "k0").Requests);
    }

    [Fact]
    public async Task AStoreThatCannotBeReached_FailsTheCommit_NeverHangsIt()
    {
        var ledger = new Gateway.Storage.Postgres.PostgresUsageLedger(new Gateway.Storage.Postgres.PostgresDatabase("Host=127.0.0.1;Port=1;Username=x;Password=y;Database=z;Timeout=2"));
        var commit = ledger.AddAsync(new UsageDelta(0, "k", "", "", "m", 1, 0, 0, 0, 0, 0, 0), default).AsTask();
        var failure = await Assert.ThrowsAsync<StorageException>(() => commit.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains("127.0.0.1:1", failure.Message, StringComparison.Ordinal);
        await ledger.DisposeAsync();
    }
}
