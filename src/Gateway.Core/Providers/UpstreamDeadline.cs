namespace Gateway.Core.Providers;

/// <summary>
/// The time limits of one upstream call on one cancellation source: first the first-byte limit, then,
/// once bytes arrive, the rest of the total limit. Also records which limit fired, so the caller can
/// tell a timeout (504) from a client that went away (nothing to answer).
/// </summary>
public sealed class UpstreamDeadline : IDisposable
{
    private readonly CancellationTokenSource _cts;
    private readonly CancellationToken _clientAborted;
    private readonly TimeProvider _time;
    private readonly long _started;
    private readonly TimeSpan _firstByte;
    private readonly TimeSpan _total;
    private volatile bool _firstByteSeen;

    public UpstreamDeadline(TimeSpan firstByte, TimeSpan total, CancellationToken clientAborted, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _clientAborted = clientAborted;
        _firstByte = firstByte < total ? firstByte : total;
        _total = total;
        _started = _time.GetTimestamp();
        _cts = CancellationTokenSource.CreateLinkedTokenSource(clientAborted);
        _cts.CancelAfter(_firstByte);
    }

    public CancellationToken Token => _cts.Token;

    /// <summary>The limit that fired, or null when none did (the client went away, or nothing fired).</summary>
    public TimeSpan? Expired => _cts.IsCancellationRequested && !_clientAborted.IsCancellationRequested
        ? (_firstByteSeen ? _total : _firstByte)
        : null;

    /// <summary>True when the first-byte limit (not the total) fired.</summary>
    public bool ExpiredBeforeFirstByte => Expired is not null && !_firstByteSeen;

    public bool ClientGone => _clientAborted.IsCancellationRequested;

    public void FirstByteReceived()
    {
        if (_firstByteSeen) return;
        _firstByteSeen = true;
        var remaining = _total - _time.GetElapsedTime(_started);
        if (remaining <= TimeSpan.Zero) _cts.Cancel();
        else _cts.CancelAfter(remaining);
    }

    public void Dispose() => _cts.Dispose();
}
