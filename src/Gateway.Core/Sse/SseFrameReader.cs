using System.Buffers;

namespace Gateway.Core.Sse;

/// <summary>
/// Reads SSE frames from an upstream body into one pooled buffer that grows only for an oversized
/// frame. The relay and the stream translators share it; a frame is a span into the buffer, valid
/// until the next <see cref="ReadAsync"/>.
/// </summary>
public sealed class SseFrameReader(Stream upstream) : IDisposable
{
    private const int InitialBuffer = 16 * 1024;
    /// <summary>No sane provider sends a single event this large; a bigger one is a broken upstream.</summary>
    public const int MaxFrameBytes = 8 * 1024 * 1024;

    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(InitialBuffer);
    private int _start;
    private int _end;

    /// <summary>Bytes of an unfinished frame held back (what is left when the upstream closes).</summary>
    public ReadOnlySpan<byte> Pending => _buffer.AsSpan(_start, _end - _start);

    /// <summary>True once any byte arrived.</summary>
    public bool FirstByteSeen { get; private set; }

    /// <summary>Reads more bytes; false at the end of the upstream body. Throws what the stream throws.</summary>
    public async ValueTask<SseReadResult> ReadAsync(CancellationToken cancellationToken)
    {
        if (_start == _end) _start = _end = 0;
        if (_end == _buffer.Length)
        {
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            else
            {
                if (_buffer.Length >= MaxFrameBytes) return SseReadResult.FrameTooLarge;
                var bigger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
                Buffer.BlockCopy(_buffer, 0, bigger, 0, _end);
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = bigger;
            }
        }
        int read = await upstream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        if (read == 0) return SseReadResult.End;
        FirstByteSeen = true;
        _end += read;
        return SseReadResult.Data;
    }

    /// <summary>The next complete frame (blank line included) from what has been read, if any.</summary>
    public bool TryReadFrame(out ReadOnlySpan<byte> frame)
    {
        int length = SseFrameScanner.FindFrameEnd(_buffer.AsSpan(_start, _end - _start));
        if (length < 0)
        {
            frame = default;
            return false;
        }
        frame = _buffer.AsSpan(_start, length);
        _start += length;
        return true;
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0) ArrayPool<byte>.Shared.Return(buffer);
    }
}

public enum SseReadResult
{
    Data,
    End,
    FrameTooLarge,
}
