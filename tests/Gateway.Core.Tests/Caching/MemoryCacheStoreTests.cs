using Gateway.Core.Caching;
using Gateway.Core.Sse;

namespace Gateway.Core.Tests.Caching;

public class MemoryCacheStoreTests
{
    private static CachedAnswer Entry(int id, int bytes, long expires = long.MaxValue, string scope = "t:a", string model = "m") =>
        new(new CacheKey((UInt128)id), scope, model, CachedForm.Completion, "application/json", new byte[bytes], 0, expires, new TokenUsage(1, 1, 2, 0, 0));

    private static async Task<bool> Has(MemoryCacheStore store, int id, long now = 0) => await store.GetAsync(new CacheKey((UInt128)id), now, default) is not null;

    [Fact]
    public async Task PastItsBound_TheLeastRecentlyUsedEntriesGo()
    {
        long size = Entry(0, 1000).Size;
        var store = new MemoryCacheStore(3 * size);
        for (int i = 1; i <= 3; i++) await store.SetAsync(Entry(i, 1000), default);
        Assert.True(await Has(store, 1)); // 1 is now the most recent; 2 the least
        await store.SetAsync(Entry(4, 1000), default);
        Assert.False(await Has(store, 2));
        Assert.True(await Has(store, 1) && await Has(store, 3) && await Has(store, 4));
        Assert.Equal((3L, 3 * size, 1L), (store.Stats.Entries, store.Stats.Bytes, store.Stats.Evicted));
    }

    [Fact]
    public async Task AnEntryLargerThanTheWholeCache_IsNotStored_AndReplacingOneKeepsTheCount()
    {
        var store = new MemoryCacheStore(10_000);
        await store.SetAsync(Entry(1, 20_000), default);
        Assert.False(await Has(store, 1));
        await store.SetAsync(Entry(2, 100), default);
        await store.SetAsync(Entry(2, 200), default);
        Assert.Equal((1L, Entry(2, 200).Size), (store.Stats.Entries, store.Stats.Bytes));
    }

    [Fact]
    public async Task AnExpiredEntry_IsNotServed_AndIsDropped()
    {
        var store = new MemoryCacheStore(1 << 20);
        await store.SetAsync(Entry(1, 10, expires: 1000), default);
        Assert.True(await Has(store, 1, now: 999));
        Assert.False(await Has(store, 1, now: 1000));
        Assert.Equal(0, store.Stats.Entries);
    }

    [Fact]
    public async Task Purge_SelectsByScopeAndModel()
    {
        var store = new MemoryCacheStore(1 << 20);
        await store.SetAsync(Entry(1, 10, scope: "t:a", model: "x"), default);
        await store.SetAsync(Entry(2, 10, scope: "t:a", model: "y"), default);
        await store.SetAsync(Entry(3, 10, scope: "t:b", model: "x"), default);
        await store.SetAsync(Entry(4, 10, scope: "t:b", model: "y"), default);
        Assert.Equal(1, await store.PurgeAsync("t:a", "x", default));
        Assert.Equal(1, await store.PurgeAsync(null, "x", default));
        Assert.Equal(1, await store.PurgeAsync("t:b", null, default));
        Assert.True(await Has(store, 2));
        Assert.Equal(1, await store.PurgeAsync(null, null, default));
        Assert.Equal((0L, 0L), (store.Stats.Entries, store.Stats.Bytes));
    }
}
