using Gateway.Core.Caching;
using Gateway.Core.Sse;
using Gateway.Storage.Redis;
using Gateway.Tests.Shared;

namespace Gateway.Storage.Tests.Redis;

/// <summary>The response cache in a real Redis: shared by replicas, bounded by bytes across them, purged by scope and model.</summary>
public sealed class RedisCacheStoreTests : IDisposable
{
    private readonly string _cluster = Guid.NewGuid().ToString("N");
    private readonly List<IDisposable> _owned = [];

    private RedisCacheStore Replica(long maxBytes)
    {
        var connection = RedisConnection.Open(TestServers.RedisUrl, _cluster);
        var store = new RedisCacheStore(connection, maxBytes);
        _owned.Add(store);
        _owned.Add(connection);
        return store;
    }

    public void Dispose()
    {
        foreach (var owned in _owned) owned.Dispose();
    }

    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static CachedAnswer Entry(int n, string scope = "t:acme", string model = "gpt", int bytes = 100, long? expires = null) =>
        new(new CacheKey((UInt128)n * 7919), scope, model, CachedForm.Completion, "application/json", Enumerable.Repeat((byte)('a' + n % 26), bytes).ToArray(),
            Now, expires ?? Now + 60_000, new TokenUsage(n, 2 * n, 3 * n, 0, 1));

    [Fact]
    public async Task AnEntryStoredByOneReplica_IsAHitOnAnother_FieldForField()
    {
        var (a, b) = (Replica(1 << 20), Replica(1 << 20));
        var entry = Entry(5, bytes: 3000) with { Form = CachedForm.EventStream, ContentType = "text/event-stream" };
        await a.SetAsync(entry, default);
        var hit = await b.GetAsync(entry.Key, Now, default);
        Assert.NotNull(hit);
        Assert.Equal((entry.Scope, entry.Model, entry.Form, entry.ContentType, entry.Stored, entry.Expires, entry.Usage),
            (hit.Scope, hit.Model, hit.Form, hit.ContentType, hit.Stored, hit.Expires, hit.Usage));
        Assert.Equal(entry.Body, hit.Body);
        Assert.Null(await b.GetAsync(Entry(6).Key, Now, default));
        Assert.Null(await b.GetAsync(entry.Key, entry.Expires, default)); // expired by the caller's clock too
    }

    [Fact]
    public async Task TheBound_HoldsAcrossReplicas_TheLeastRecentlyUsedGo()
    {
        var one = Entry(1);
        long bound = 3 * one.Size;
        var (a, b) = (Replica(bound), Replica(bound));
        await a.SetAsync(Entry(1), default);
        await b.SetAsync(Entry(2), default);
        await a.SetAsync(Entry(3), default);
        await Task.Delay(5);
        Assert.NotNull(await b.GetAsync(Entry(1).Key, Now, default)); // 1 is now the most recent
        await Task.Delay(50); // the recency refresh is sent without waiting for it
        await b.SetAsync(Entry(4), default);                           // 2 goes
        Assert.Null(await a.GetAsync(Entry(2).Key, Now, default));
        foreach (int n in new[] { 1, 3, 4 }) Assert.NotNull(await a.GetAsync(Entry(n).Key, Now, default));
        Assert.Equal((3L, 3 * one.Size, 1L), (b.Stats.Entries, b.Stats.Bytes, b.Stats.Evicted));
        await a.RefreshAsync();
        Assert.Equal((3L, 3 * one.Size), (a.Stats.Entries, a.Stats.Bytes));
        await a.SetAsync(Entry(9, bytes: (int)bound), default);        // larger than the whole cache: not stored
        Assert.Null(await a.GetAsync(Entry(9).Key, Now, default));
    }

    [Fact]
    public async Task Purges_SelectByScopeModelOrBoth_AndReplacingAnEntry_CountsItsBytesOnce()
    {
        var store = Replica(1 << 20);
        await store.SetAsync(Entry(1, "t:acme", "gpt"), default);
        await store.SetAsync(Entry(2, "t:acme", "claude"), default);
        await store.SetAsync(Entry(3, "k:solo", "gpt"), default);
        await store.SetAsync(Entry(4, "k:solo", "claude"), default);
        await store.SetAsync(Entry(4, "k:solo", "claude"), default);
        long bytes = Entry(1, "t:acme", "gpt").Size + Entry(2, "t:acme", "claude").Size + Entry(3, "k:solo", "gpt").Size + Entry(4, "k:solo", "claude").Size;
        Assert.Equal((4L, bytes), (store.Stats.Entries, store.Stats.Bytes));
        Assert.Equal(1, await store.PurgeAsync("t:acme", "gpt", default));
        Assert.Equal(2, await store.PurgeAsync(null, "claude", default));
        Assert.NotNull(await store.GetAsync(Entry(3).Key, Now, default));
        Assert.Equal(1, await store.PurgeAsync("k:solo", null, default));
        await store.SetAsync(Entry(5), default);
        Assert.Equal(1, await store.PurgeAsync(null, null, default));
        Assert.Equal((0L, 0L), (store.Stats.Entries, store.Stats.Bytes));
    }

    [Fact]
    public async Task ExpiredEntries_LeaveTheBytesCount_AndARedisAway_IsAMissNotAFailure()
    {
        var store = Replica(1 << 20);
        await store.SetAsync(Entry(1, expires: Now + 100), default);
        await Task.Delay(200);
        await store.SetAsync(Entry(2), default);
        Assert.Equal((1L, Entry(2).Size), (store.Stats.Entries, store.Stats.Bytes));

        using var away = RedisConnection.Open("redis://127.0.0.1:1", _cluster);
        using var down = new RedisCacheStore(away, 1 << 20);
        Assert.Null(await down.GetAsync(Entry(1).Key, Now, default));
        await down.SetAsync(Entry(1), default);
        await Assert.ThrowsAsync<Gateway.Core.Governance.SharedStoreException>(() => down.PurgeAsync(null, null, default).AsTask());
    }
}
