using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;

namespace Gateway.Server.Hosting;

/// <summary>
/// Kestrel's socket buffers: 4 KB blocks on the pinned object heap, reused, as the pool the generic host
/// gives Kestrel. Built without the host, Kestrel's socket transport falls back to
/// <see cref="MemoryPool{T}.Shared"/>, which allocates an owner per rent, pins each buffer per socket
/// operation, and hands out an empty buffer for a write that asks no size before the response starts.
/// Blocks that stayed unused through a whole <see cref="TrimPeriod"/> are let go (half of them each
/// period), so the memory of a burst (9,000 held streams) goes back once it has passed.
/// </summary>
internal sealed class PinnedBlockPool : MemoryPool<byte>
{
    public const int BlockSize = 4096;

    /// <summary>How often blocks that nothing needed are released.</summary>
    public static readonly TimeSpan TrimPeriod = TimeSpan.FromSeconds(10);

    private readonly ConcurrentQueue<Block> _free = new();
    private readonly ITimer _trim;
    private int _freeCount;
    private int _fewestFree; // the fewest blocks free since the last trim: that many were never needed
    private bool _disposed;

    public PinnedBlockPool(TimeProvider time)
    {
        _trim = time.CreateTimer(static state => ((PinnedBlockPool)state!).Trim(), this, TrimPeriod, TrimPeriod);
    }

    public override int MaxBufferSize => BlockSize;

    /// <summary>Blocks waiting to be rented (for tests and the trim).</summary>
    public int FreeBlocks => Volatile.Read(ref _freeCount);

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > BlockSize) throw new ArgumentOutOfRangeException(nameof(minBufferSize), minBufferSize, $"blocks are {BlockSize} bytes");
        if (_free.TryDequeue(out var block))
        {
            int left = Interlocked.Decrement(ref _freeCount);
            if (left < Volatile.Read(ref _fewestFree)) Volatile.Write(ref _fewestFree, left);
            return block;
        }
        Volatile.Write(ref _fewestFree, 0);
        return new Block(this);
    }

    /// <summary>Lets go of half the blocks that were free the whole period (the rest go in the periods after).</summary>
    internal void Trim()
    {
        int spare = Volatile.Read(ref _fewestFree);
        for (int i = (spare + 1) / 2; i > 0 && _free.TryDequeue(out _); i--) Interlocked.Decrement(ref _freeCount);
        Volatile.Write(ref _fewestFree, Volatile.Read(ref _freeCount));
    }

    private void Return(Block block)
    {
        if (Volatile.Read(ref _disposed)) return;
        _free.Enqueue(block);
        Interlocked.Increment(ref _freeCount);
    }

    protected override void Dispose(bool disposing)
    {
        Volatile.Write(ref _disposed, true);
        _trim.Dispose();
        _free.Clear();
    }

    private sealed class Block(PinnedBlockPool pool) : IMemoryOwner<byte>
    {
        // Made once: Kestrel asks for it on every read and write (the profile showed it made each time).
        public Memory<byte> Memory { get; } = MemoryMarshal.CreateFromPinnedArray(GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true), 0, BlockSize);

        public void Dispose() => pool.Return(this);
    }

    /// <summary>Gives Kestrel's socket transport this pool: the option is set by the host's services, and its setter is not public.</summary>
    public static SocketTransportOptions TransportOptions(PinnedBlockPool pool)
    {
        var options = new SocketTransportOptions();
        SetMemoryPoolFactory(options, new Factory(pool));
        return options;
    }

    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "set_MemoryPoolFactory")]
    private static extern void SetMemoryPoolFactory(SocketTransportOptions options, IMemoryPoolFactory<byte> factory);

    /// <summary>Every listener and connection shares the one pool (the host's pool is per listener; one gateway listens once or twice).</summary>
    private sealed class Factory(PinnedBlockPool pool) : IMemoryPoolFactory<byte>
    {
        public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => new Lease(pool);
    }

    /// <summary>A listener's view of the shared pool: disposing it (the listener closing) leaves the pool to the others.</summary>
    private sealed class Lease(PinnedBlockPool pool) : MemoryPool<byte>
    {
        public override int MaxBufferSize => BlockSize;

        public override IMemoryOwner<byte> Rent(int minBufferSize = -1) => pool.Rent(minBufferSize);

        protected override void Dispose(bool disposing)
        {
        }
    }
}
