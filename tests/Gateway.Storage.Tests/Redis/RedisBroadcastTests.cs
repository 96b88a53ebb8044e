using Gateway.Storage.Redis;
using Gateway.Tests.Shared;

namespace Gateway.Storage.Tests.Redis;

/// <summary>A change announced by one replica is applied by every other before the announcement returns.</summary>
public sealed class RedisBroadcastTests : IAsyncDisposable
{
    private readonly string _cluster = Guid.NewGuid().ToString("N");
    private readonly List<(RedisConnection Connection, RedisBroadcast Broadcast)> _replicas = [];

    private async Task<RedisBroadcast> Replica(Action apply)
    {
        var connection = RedisConnection.Open(TestServers.RedisUrl, _cluster);
        var broadcast = new RedisBroadcast(connection, apply);
        await broadcast.StartAsync();
        _replicas.Add((connection, broadcast));
        return broadcast;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (connection, broadcast) in _replicas)
        {
            await broadcast.DisposeAsync();
            connection.Dispose();
        }
    }

    [Fact]
    public async Task Announce_ReturnsOnlyOnceEveryOtherReplicaApplied_EvenASlowOne()
    {
        int applied2 = 0, applied3 = 0, applied1 = 0;
        var one = await Replica(() => Interlocked.Increment(ref applied1));
        await Replica(() => Interlocked.Increment(ref applied2));
        await Replica(() =>
        {
            Thread.Sleep(300);
            Interlocked.Increment(ref applied3);
        });
        Assert.True(await one.AnnounceAsync());
        Assert.Equal((0, 1, 1), (Volatile.Read(ref applied1), Volatile.Read(ref applied2), Volatile.Read(ref applied3)));
        await one.CountAsync();
        Assert.Equal(3, one.Replicas);
    }

    [Fact]
    public async Task AReplicaThatCannotApply_MakesTheAnnouncementWaitItsBound_AndSayFalse()
    {
        var one = await Replica(() => { });
        await Replica(() => throw new InvalidOperationException("store down"));
        var started = DateTime.UtcNow;
        Assert.False(await one.AnnounceAsync());
        Assert.InRange(DateTime.UtcNow - started, RedisBroadcast.AckWait - TimeSpan.FromMilliseconds(100), RedisBroadcast.AckWait + TimeSpan.FromSeconds(2));
    }
}
