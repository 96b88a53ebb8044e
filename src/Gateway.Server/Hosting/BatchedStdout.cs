using System.Text;

namespace Gateway.Server.Hosting;

/// <summary>
/// Standard output for <c>gateway serve</c>, written in batches: the console logger wrote each line
/// with its own system call, which with a line per request (<c>server.logRequests</c>, on by default)
/// cost about a tenth of a request's CPU. Lines are kept at most <see cref="Delay"/>, or until 4 KB
/// are waiting, then written together; everything waiting is written when the process exits or the
/// gateway stops. The only writer of standard output in the process, so batches never interleave.
/// </summary>
internal sealed class BatchedStdout : TextWriter
{
    /// <summary>The longest a line waits for others to go with it.</summary>
    public static readonly TimeSpan Delay = TimeSpan.FromMilliseconds(10);

    // At most this much in one write: a pipe's atomic write size, so a reader sees whole batches.
    private const int FlushBytes = 4096;

    private readonly Stream _out;
    private readonly Lock _gate = new();
    private readonly ITimer _timer;
    private byte[] _buffer = new byte[2 * FlushBytes];
    private int _length;
    private bool _scheduled, _disposed;

    internal BatchedStdout(Stream output, TimeProvider? time = null)
    {
        _out = output;
        _timer = (time ?? TimeProvider.System).CreateTimer(static state => ((BatchedStdout)state!).Flush(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public override Encoding Encoding { get; } = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

    /// <summary>Makes <see cref="Console.Out"/> a batched writer until the result is disposed (which writes what waits and puts the old one back).</summary>
    public static IDisposable Install()
    {
        var previous = Console.Out;
        var batched = new BatchedStdout(OpenStandardOutput());
        Console.SetOut(batched);
        EventHandler onExit = (_, _) => batched.Flush();
        UnhandledExceptionEventHandler onCrash = (_, _) => batched.Flush();
        AppDomain.CurrentDomain.ProcessExit += onExit;
        AppDomain.CurrentDomain.UnhandledException += onCrash;
        return new Restore(() =>
        {
            AppDomain.CurrentDomain.ProcessExit -= onExit;
            AppDomain.CurrentDomain.UnhandledException -= onCrash;
            Console.SetOut(previous);
            batched.Dispose();
        });
    }

    /// <summary>
    /// File descriptor 1, written with write(2) (<see cref="DescriptorStream"/>). Not <see cref="Console.OpenStandardOutput()"/>:
    /// its writes take a lock on <see cref="Console.Out"/>, which is this writer's synchronized wrapper, held by a logger
    /// while it waits for this writer's own lock. A flush from the timer then held that lock and waited for
    /// Console.Out: the two deadlocked, the logger's calls blocked, and thousands of thread-pool threads piled up
    /// (seen under 9,000 streams). Nor a <see cref="FileStream"/>: over a file it writes at an offset of its own,
    /// over what standard error wrote to the same file.
    /// </summary>
    internal static Stream OpenStandardOutput() => new DescriptorStream(1);

    public override void Write(char value) => Write(new ReadOnlySpan<char>(in value));

    public override void Write(string? value) => Write(value.AsSpan());

    public override void Write(char[] buffer, int index, int count) => Write(buffer.AsSpan(index, count));

    public override void Write(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty) return;
        lock (_gate)
        {
            int max = Encoding.GetMaxByteCount(value.Length);
            if (_buffer.Length - _length < max) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + max));
            _length += Encoding.GetBytes(value, _buffer.AsSpan(_length));
            if (_disposed)
            {
                WriteOut(all: true); // a logger that kept this writer past the end: no timer any more
            }
            else if (_length >= FlushBytes)
            {
                WriteOut(all: false);
            }
            else if (!_scheduled)
            {
                _scheduled = true;
                _timer.Change(Delay, Timeout.InfiniteTimeSpan);
            }
        }
    }

    public override void Flush()
    {
        lock (_gate) WriteOut(all: true);
    }

    /// <param name="all">Everything waiting (the timer, a flush); else whole lines only, the start of the next one kept.</param>
    private void WriteOut(bool all)
    {
        int limit = all ? _length : _buffer.AsSpan(0, _length).LastIndexOf((byte)'\n') + 1;
        // No line end in a large buffer: one very long line, written as it is.
        if (limit == 0 && _length > 16 * FlushBytes) limit = _length;
        if (limit == 0)
        {
            // Part of a line only: the timer writes it if its end never comes.
            if (_length > 0 && !_scheduled && !_disposed)
            {
                _scheduled = true;
                _timer.Change(Delay, Timeout.InfiniteTimeSpan);
            }
            return;
        }
        _scheduled = false;
        try
        {
            // Whole lines per write where they fit; a single longer line goes in one write of its own.
            for (int start = 0; start < limit;)
            {
                int end = Math.Min(limit, start + FlushBytes);
                if (end < limit)
                {
                    int newline = _buffer.AsSpan(start, end - start).LastIndexOf((byte)'\n');
                    end = newline >= 0 ? start + newline + 1 : start + _buffer.AsSpan(start, limit - start).IndexOf((byte)'\n') + 1;
                    if (end <= start) end = limit;
                }
                _out.Write(_buffer, start, end - start);
                start = end;
            }
            _out.Flush();
        }
        catch (IOException)
        {
            // Standard output closed (the reader went away): what waited is dropped, the gateway serves on.
        }
        finally
        {
            _buffer.AsSpan(limit, _length - limit).CopyTo(_buffer);
            _length -= limit;
            if (_length > 0 && !_scheduled && !_disposed)
            {
                _scheduled = true;
                _timer.Change(Delay, Timeout.InfiniteTimeSpan);
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lock (_gate)
            {
                _disposed = true;
                _timer.Dispose();
                WriteOut(all: true);
            }
        }
        base.Dispose(disposing);
    }

    private sealed class Restore(Action action) : IDisposable
    {
        private Action? _action = action;

        public void Dispose() => Interlocked.Exchange(ref _action, null)?.Invoke();
    }
}
