using System.Buffers;

namespace Gateway.Core.Sse;

/// <summary>
/// Reads SSE frames from an upstream body into one pooled buffer that grows only for an oversized
/// frame, and is rented only while there are bytes to split: between tokens a stream holds none.
/// The relay and the stream translators share it; a frame is a span into the buffer, valid
/// until the next <see cref="ReadAsync"/>.
/// </summary>
public sealed class SseFrameReader(Stream upstream) : IDisposable
{
    /// <summary>Held only while bytes are being read and split (see <see cref="ReadAsync"/>), so its size costs an idle stream nothing.</summary>
    internal const int InitialBuffer = 16 * 1024;
    /// <summary>No sane provider sends a single event this large; a bigger one is a broken upstream.</summary>
    public const int MaxFrameBytes = 8 * 1024 * 1024;

    private byte[] _buffer = [];
    private int _start;
    private int _end;
    private bool _lastReadFilled;

    /// <summary>Bytes of an unfinished frame held back (what is left when the upstream closes).</summary>
    public ReadOnlySpan<byte> Pending => _buffer.AsSpan(_start, _end - _start);

    /// <summary>True once any byte arrived.</summary>
    public bool FirstByteSeen { get; private set; }

    /// <summary>Reads more bytes; false at the end of the upstream body. Throws what the stream throws.</summary>
    public async ValueTask<SseReadResult> ReadAsync(CancellationToken cancellationToken)
    {
        if (_start == _end)
        {
            _start = _end = 0;
            // Nothing held back and the last read drained the upstream: the buffer goes back to the
            // pool while the upstream is silent, so a stream waiting for its next token holds none (as
            // Kestrel and YARP do). A zero-byte read waits for data where the stream supports that
            // (sockets, HttpClient's bodies) and returns at once where not.
            if (!_lastReadFilled)
            {
                if (_buffer.Length > 0)
                {
                    ArrayPool<byte>.Shared.Return(_buffer);
                    _buffer = [];
                }
                await upstream.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
            }
            if (_buffer.Length == 0) _buffer = ArrayPool<byte>.Shared.Rent(InitialBuffer);
        }
        else if (_end == _buffer.Length)
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
        var free = _buffer.AsMemory(_end);
        int read = await upstream.ReadAsync(free, cancellationToken).ConfigureAwait(false);
        _lastReadFilled = read == free.Length;
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
