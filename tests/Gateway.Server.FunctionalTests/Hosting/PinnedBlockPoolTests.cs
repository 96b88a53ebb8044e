using Gateway.Server.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Server.FunctionalTests.Hosting;

public class PinnedBlockPoolTests
{
    [Fact]
    public void EveryRent_IsAWholeBlock_EvenWhenNoSizeIsAsked()
    {
        using var pool = new PinnedBlockPool(new FakeTimeProvider());
        foreach (int size in new[] { -1, 0, 1, PinnedBlockPool.BlockSize })
        {
            using var block = pool.Rent(size);
            Assert.Equal(PinnedBlockPool.BlockSize, block.Memory.Length);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(PinnedBlockPool.BlockSize + 1));
    }

    [Fact]
    public void AReturnedBlock_IsRentedAgain()
    {
        using var pool = new PinnedBlockPool(new FakeTimeProvider());
        var first = pool.Rent();
        first.Memory.Span[0] = 42;
        var memory = first.Memory;
        first.Dispose();
        Assert.Equal(1, pool.FreeBlocks);
        using var second = pool.Rent();
        Assert.True(second.Memory.Span.Overlaps(memory.Span));
        Assert.Equal(0, pool.FreeBlocks);
    }

    [Fact]
    public void AfterABurst_BlocksNothingNeeded_AreLetGoOverPeriods_ThoseInUseStay()
    {
        var time = new FakeTimeProvider();
        using var pool = new PinnedBlockPool(time);
        var burst = Enumerable.Range(0, 100).Select(_ => pool.Rent()).ToList();
        foreach (var block in burst) block.Dispose();
        Assert.Equal(100, pool.FreeBlocks);

        // A steady load of 10 blocks keeps its 10; the 90 free all period go, half a period.
        var steady = Enumerable.Range(0, 10).Select(_ => pool.Rent()).ToList();
        time.Advance(PinnedBlockPool.TrimPeriod); // the first period saw the burst's low point (0 free): nothing goes
        Assert.Equal(90, pool.FreeBlocks);
        time.Advance(PinnedBlockPool.TrimPeriod);
        Assert.Equal(45, pool.FreeBlocks);
        for (int i = 0; i < 8; i++) time.Advance(PinnedBlockPool.TrimPeriod);
        Assert.Equal(0, pool.FreeBlocks);
        foreach (var block in steady) block.Dispose();
        Assert.Equal(10, pool.FreeBlocks);
    }

    [Fact]
    public void KestrelsSocketTransport_RentsFromThePool()
    {
        using var pool = new PinnedBlockPool(new FakeTimeProvider());
        var options = PinnedBlockPool.TransportOptions(pool);
        using var listenerPool = MemoryPoolFactory(options).Create(new Microsoft.AspNetCore.Connections.MemoryPoolOptions());
        listenerPool.Rent().Dispose();
        Assert.Equal(1, pool.FreeBlocks);
        listenerPool.Dispose(); // a listener closing leaves the shared pool working
        using var again = pool.Rent();
        Assert.Equal(PinnedBlockPool.BlockSize, again.Memory.Length);
    }

    [System.Runtime.CompilerServices.UnsafeAccessor(System.Runtime.CompilerServices.UnsafeAccessorKind.Method, Name = "get_MemoryPoolFactory")]
    private static extern Microsoft.AspNetCore.Connections.IMemoryPoolFactory<byte> MemoryPoolFactory(Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets.SocketTransportOptions options);
}
