namespace Gateway.Core.Providers;

/// <summary>Which of an upstream call's limits ran out.</summary>
public enum DeadlineLimit
{
    None,
    /// <summary>No first byte (a stream's first event) in time.</summary>
    FirstByte,
    /// <summary>The stream went silent for longer than the idle limit between two reads.</summary>
    Idle,
    /// <summary>The whole answer took too long.</summary>
    Total,
}

/// <summary>
/// The time limits of one upstream call on one cancellation source: first the first-byte limit,
/// then, once bytes arrive, the rest of the total limit, and (when set) the idle limit between two
/// reads of a stream. Also records which limit fired, so the caller can tell a timeout (504) from a
/// client that went away (nothing to answer).
/// </summary>
/// <remarks>
/// The idle limit costs one timestamp per read: a timer wakes up once per idle period and re-arms
/// for what is left unless the stream really went quiet, rather than being reset on every frame.
/// </remarks>
public sealed class UpstreamDeadline : IDisposable
{
    private readonly CancellationTokenSource _cts;
    private readonly CancellationToken _clientAborted;
    private readonly TimeProvider _time;
    private readonly long _started;
    private readonly TimeSpan _firstByte;
    private readonly TimeSpan _total;
    private readonly TimeSpan _idle;
    private readonly Lock _timerLock = new();
    private ITimer? _idleTimer;
    private long _lastData;
    private volatile bool _firstByteSeen;
    private volatile bool _idleFired;
    private bool _disposed;
    private CancellationTokenRegistration _clientRegistration;

    /// <param name="total"><see cref="Timeout.InfiniteTimeSpan"/> for none (an answer from memory, bounded by the client alone).</param>
    /// <param name="idle">The longest silence between two reads once data flows; zero for none.</param>
    public UpstreamDeadline(TimeSpan firstByte, TimeSpan total, CancellationToken clientAborted, TimeProvider? time = null, TimeSpan idle = default)
    {
        _time = time ?? TimeProvider.System;
        _clientAborted = clientAborted;
        _firstByte = firstByte < total ? firstByte : total;
        _total = total;
        _idle = idle > TimeSpan.Zero && idle < total ? idle : TimeSpan.Zero;
        _started = _time.GetTimestamp();
        // On the injected clock (tests drive it), and cancelled with the client as a linked source would be.
        _cts = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _time);
        if (clientAborted.CanBeCanceled)
            _clientRegistration = clientAborted.UnsafeRegister(static state => ((UpstreamDeadline)state!).Cancel(), this);
        _cts.CancelAfter(_firstByte);
    }

    public CancellationToken Token => _cts.Token;

    /// <summary>Which limit fired; <see cref="DeadlineLimit.None"/> when none did (or the client went away).</summary>
    public DeadlineLimit ExpiredLimit => !_cts.IsCancellationRequested || _clientAborted.IsCancellationRequested ? DeadlineLimit.None
        : _idleFired ? DeadlineLimit.Idle
        : _firstByteSeen ? DeadlineLimit.Total
        : DeadlineLimit.FirstByte;

    /// <summary>The limit that fired, or null when none did (the client went away, or nothing fired).</summary>
    public TimeSpan? Expired => ExpiredLimit switch
    {
        DeadlineLimit.FirstByte => _firstByte,
        DeadlineLimit.Idle => _idle,
        DeadlineLimit.Total => _total,
        _ => null,
    };

    /// <summary>True when the first-byte limit (not the total or idle) fired.</summary>
    public bool ExpiredBeforeFirstByte => ExpiredLimit == DeadlineLimit.FirstByte;

    public bool ClientGone => _clientAborted.IsCancellationRequested;

    /// <summary>The idle limit between reads, zero when there is none.</summary>
    public TimeSpan Idle => _idle;

    /// <summary>
    /// Bytes came from the provider: the first ends the first-byte wait (the rest of the total limit
    /// applies from then on) and starts the idle watch; each one resets the idle clock.
    /// </summary>
    public void DataReceived()
    {
        Volatile.Write(ref _lastData, _time.GetTimestamp());
        if (_firstByteSeen) return;
        _firstByteSeen = true;
        if (_total != Timeout.InfiniteTimeSpan)
        {
            var remaining = _total - _time.GetElapsedTime(_started);
            if (remaining <= TimeSpan.Zero) Cancel();
            else _cts.CancelAfter(remaining);
        }
        if (_idle > TimeSpan.Zero)
            lock (_timerLock)
                if (!_disposed) _idleTimer = _time.CreateTimer(static state => ((UpstreamDeadline)state!).CheckIdle(), this, _idle, Timeout.InfiniteTimeSpan);
    }

    private void CheckIdle()
    {
        var quiet = _time.GetElapsedTime(Volatile.Read(ref _lastData));
        lock (_timerLock)
        {
            if (_disposed) return;
            if (quiet < _idle)
            {
                _idleTimer?.Change(_idle - quiet, Timeout.InfiniteTimeSpan);
                return;
            }
            _idleFired = true;
        }
        Cancel();
    }

    private void Cancel()
    {
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // the call ended as the limit fired
        }
    }

    public void Dispose()
    {
        _clientRegistration.Dispose();
        lock (_timerLock)
        {
            _disposed = true;
            _idleTimer?.Dispose();
        }
        _cts.Dispose();
    }
}
