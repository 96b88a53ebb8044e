using System.Buffers;
using Gateway.Policies;

namespace Gateway.Server.Http;

/// <summary>A request or response body held in one rented array, returned on dispose.</summary>
internal sealed class PooledBody : IBufferWriter<byte>, IWrittenMemory, IDisposable
{
    private byte[] _buffer;
    private int _length;

    public PooledBody(int capacity) => _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(capacity, 256));

    public int Length => _length;
    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, _length);
    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, _length);

    /// <summary>Free space at the end, growing the array (doubling) when fewer than <paramref name="min"/> bytes remain.</summary>
    public Memory<byte> GetFree(int min)
    {
        if (_buffer.Length - _length < min)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + min));
            _buffer.AsSpan(0, _length).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }
        return _buffer.AsMemory(_length);
    }

    public void Advance(int count) => _length += count;

    // As a writer (a policy's output): GetFree grows the buffer like the body reader does.
    ReadOnlyMemory<byte> IWrittenMemory.WrittenMemory => Memory;
    Memory<byte> IBufferWriter<byte>.GetMemory(int sizeHint) => GetFree(Math.Max(sizeHint, 1));
    Span<byte> IBufferWriter<byte>.GetSpan(int sizeHint) => GetFree(Math.Max(sizeHint, 1)).Span;

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0) ArrayPool<byte>.Shared.Return(buffer);
    }
}
