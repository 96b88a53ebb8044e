using Gateway.Core.Caching;
using Gateway.Core.Sse;
using Gateway.Storage.Postgres;
using Gateway.Storage.Tests.Sqlite;

namespace Gateway.Storage.Tests.Postgres;

/// <summary>The response cache in PostgreSQL (<c>cache.store: "database"</c>): read back whole, shared by replicas, bounded across them.</summary>
public sealed class PostgresCacheStoreTests : IDisposable
{
    private readonly TempStore _temp = new("gw-pgcache-", StoreEngine.Postgres);
    private readonly List<PostgresCacheStore> _stores = [];

    public void Dispose()
    {
        foreach (var store in _stores) store.Dispose();
        _temp.Dispose();
    }

    private PostgresCacheStore Replica(long maxBytes)
    {
        var store = new PostgresCacheStore(_temp.Store.Postgres!, maxBytes);
        _stores.Add(store);
        return store;
    }

    private static CachedAnswer Entry(int id, int bytes = 100, long expires = long.MaxValue, string scope = "t:a", string model = "m", long stored = 0) =>
        new(new CacheKey(((UInt128)id << 64) | (UInt128)(uint)id), scope, model, CachedForm.Completion, "application/json",
            Enumerable.Range(0, bytes).Select(i => (byte)(i + id)).ToArray(), stored, expires, new TokenUsage(7, 3, 10, 2, 1));

    private static async Task<CachedAnswer?> Get(PostgresCacheStore store, int id, long now = 1) => await store.GetAsync(Entry(id).Key, now, default);

    [Fact]
    public async Task AnEntryOneReplicaStored_IsReadWholeByAnother()
    {
        var (a, b) = (Replica(1 << 20), Replica(1 << 20));
        var stream = Entry(1, stored: 5) with { Form = CachedForm.EventStream, ContentType = "text/event-stream" };
        await a.SetAsync(stream, default);
        var read = await Get(b, 1, now: 6);
        Assert.NotNull(read);
        Assert.Equal(Entry(1).Body, read!.Body);
        Assert.Equal(("t:a", "m", CachedForm.EventStream, "text/event-stream", 5L, new TokenUsage(7, 3, 10, 2, 1)),
            (read.Scope, read.Model, read.Form, read.ContentType, read.Stored, read.Usage));
        Assert.Null(await Get(b, 2));
        b.Refresh();
        Assert.Equal((1L, stream.Size), (b.Stats.Entries, b.Stats.Bytes));
    }

    [Fact]
    public async Task TheBound_HoldsAcrossReplicas_TheLeastRecentlyUsedGo_AndExpiredEntriesLeave()
    {
        long size = Entry(0, 1000).Size;
        var (a, b) = (Replica(3 * size), Replica(3 * size));
        await a.SetAsync(Entry(1, 1000, stored: 1), default);
        await b.SetAsync(Entry(2, 1000, stored: 2), default);
        await a.SetAsync(Entry(3, 1000, stored: 3), default);
        await b.SetAsync(Entry(4, 1000, stored: 4), default);
        Assert.Null(await Get(a, 1, now: 5));
        foreach (int id in new[] { 2, 3, 4 }) Assert.NotNull(await Get(a, id, now: 5));
        Assert.Equal((3L, 3 * size, 1L), (b.Stats.Entries, b.Stats.Bytes, b.Stats.Evicted));

        await a.SetAsync(Entry(5, 1000, expires: 10, stored: 6), default);  // 2 goes
        await b.SetAsync(Entry(6, 1000, stored: 20), default);               // 5 has expired by then: it goes, not 3
        Assert.NotNull(await Get(a, 3, now: 21));
        Assert.Null(await Get(a, 5, now: 21));
        a.Refresh();
        Assert.Equal((3L, 3 * size), (a.Stats.Entries, a.Stats.Bytes));
    }

    [Fact]
    public async Task Purge_SelectsByScopeAndModel_AndReplacingKeepsTheTotals()
    {
        var store = Replica(1 << 20);
        await store.SetAsync(Entry(1, scope: "t:a", model: "x"), default);
        await store.SetAsync(Entry(2, scope: "t:a", model: "y"), default);
        await store.SetAsync(Entry(3, scope: "t:b", model: "x"), default);
        await store.SetAsync(Entry(3, scope: "t:b", model: "x"), default);
        Assert.Equal(3, store.Stats.Entries);
        Assert.Equal(1, await store.PurgeAsync("t:a", "x", default));
        Assert.Equal(1, await store.PurgeAsync(null, "x", default));
        Assert.NotNull(await Get(store, 2));
        Assert.Equal(1, await store.PurgeAsync(null, null, default));
        store.Refresh();
        Assert.Equal((0L, 0L), (store.Stats.Entries, store.Stats.Bytes));
    }
}
