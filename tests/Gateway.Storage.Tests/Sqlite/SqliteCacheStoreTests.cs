using Gateway.Core.Caching;
using Gateway.Core.Sse;
using Gateway.Storage.Sqlite;

namespace Gateway.Storage.Tests.Sqlite;

public class SqliteCacheStoreTests
{
    private static CachedAnswer Entry(int id, int bytes = 100, long expires = long.MaxValue, string scope = "t:a", string model = "m", long stored = 0) =>
        new(new CacheKey(((UInt128)id << 64) | (UInt128)(uint)id), scope, model, CachedForm.Completion, "application/json",
            Enumerable.Range(0, bytes).Select(i => (byte)(i + id)).ToArray(), stored, expires, new TokenUsage(7, 3, 10, 2, 1));

    private static async Task<CachedAnswer?> Get(SqliteCacheStore store, int id, long now = 1) =>
        await store.GetAsync(Entry(id).Key, now, default);

    [Fact]
    public async Task AnEntry_IsReadBackWhole_AndOutlivesTheStoreThatWroteIt()
    {
        using var temp = new TempStore("gw-cache-");
        var first = new SqliteCacheStore(temp.Database, 1 << 20, now: 0);
        await first.SetAsync(Entry(1, stored: 5), default);
        var read = await Get(first, 1);
        Assert.NotNull(read);
        Assert.Equal(Entry(1).Body, read!.Body);
        Assert.Equal(("t:a", "m", CachedForm.Completion, "application/json", 5L, new TokenUsage(7, 3, 10, 2, 1)),
            (read.Scope, read.Model, read.Form, read.ContentType, read.Stored, read.Usage));
        first.Dispose();

        using var second = new SqliteCacheStore(temp.Database, 1 << 20, now: 2); // a restart
        Assert.NotNull(await Get(second, 1));
        Assert.Equal((1L, Entry(1).Size), (second.Stats.Entries, second.Stats.Bytes));
    }

    [Fact]
    public async Task Expired_IsNotServed_AndAStartDropsIt()
    {
        using var temp = new TempStore("gw-cache-");
        using (var store = new SqliteCacheStore(temp.Database, 1 << 20, now: 0))
        {
            await store.SetAsync(Entry(1, expires: 100), default);
            Assert.NotNull(await Get(store, 1, now: 99));
            Assert.Null(await Get(store, 1, now: 100));
        }
        using var restarted = new SqliteCacheStore(temp.Database, 1 << 20, now: 200);
        Assert.Equal(0, restarted.Stats.Entries);
    }

    [Fact]
    public async Task PastItsBound_TheLeastRecentlyUsedGo()
    {
        using var temp = new TempStore("gw-cache-");
        long size = Entry(0, 1000).Size;
        using var store = new SqliteCacheStore(temp.Database, 3 * size, now: 0);
        for (int i = 1; i <= 3; i++) await store.SetAsync(Entry(i, 1000, stored: i), default);
        await store.SetAsync(Entry(4, 1000, stored: 4), default);
        Assert.Null(await Get(store, 1));
        Assert.NotNull(await Get(store, 4));
        Assert.Equal((3L, 3 * size, 1L), (store.Stats.Entries, store.Stats.Bytes, store.Stats.Evicted));
    }

    [Fact]
    public async Task Purge_SelectsByScopeAndModel_AndReplacingKeepsTheCount()
    {
        using var temp = new TempStore("gw-cache-");
        using var store = new SqliteCacheStore(temp.Database, 1 << 20, now: 0);
        await store.SetAsync(Entry(1, scope: "t:a", model: "x"), default);
        await store.SetAsync(Entry(2, scope: "t:a", model: "y"), default);
        await store.SetAsync(Entry(3, scope: "t:b", model: "x"), default);
        await store.SetAsync(Entry(3, scope: "t:b", model: "x"), default);
        Assert.Equal(3, store.Stats.Entries);
        Assert.Equal(1, await store.PurgeAsync("t:a", "x", default));
        Assert.Equal(1, await store.PurgeAsync(null, "x", default));
        Assert.NotNull(await Get(store, 2));
        Assert.Equal(1, await store.PurgeAsync(null, null, default));
        Assert.Equal((0L, 0L), (store.Stats.Entries, store.Stats.Bytes));
    }
}
