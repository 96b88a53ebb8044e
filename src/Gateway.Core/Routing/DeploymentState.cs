using System.Collections.Concurrent;
using System.Diagnostics;
using Gateway.Core.Config;

namespace Gateway.Core.Routing;

/// <summary>
/// What the gateway has seen of one deployment (provider + model): calls in flight, a moving
/// average of its latency, and its circuit breaker. Shared by every snapshot, so a config reload
/// keeps what was learnt. Lock-free; read on every pick.
/// </summary>
public sealed class DeploymentState
{
    /// <summary>Consecutive failures that open the breaker, unless the group says otherwise.</summary>
    public const int FailuresToOpen = 5;

    /// <summary>How long an open breaker keeps the deployment out before one probe is let through, unless the group says otherwise.</summary>
    public static readonly TimeSpan CoolDown = TimeSpan.FromSeconds(30);

    private readonly DeploymentQueue _queue;
    private readonly HealthWindow _health;
    // Requests waiting for the next rate window, by priority; a timer at the window's turn lets them in.
    private readonly DeploymentQueue _windowQueue;
    private readonly long _windowTicks;
    private ITimer? _windowTimer;
    private bool _windowTimerArmed;
    private int _waitRpm, _waitTpm;
    private readonly Lock _window = new();
    private long _windowStart;
    private int _windowCount;
    private long _windowTokens;
    private int _inFlight;
    private long _latencyTicks;
    private int _consecutiveFailures;
    private long _openUntil;
    // When a probe was let through (a timestamp of the state's clock), 0 when none is out. A claim older than
    // the cool-down counts as lost (picked but never sent): the next caller may probe instead.
    private long _probeSince;

    private readonly TimeProvider _time;

    /// <param name="time">The clock every timestamp given to this state comes from (breakers, rests, rate windows, latency).</param>
    public DeploymentState(TimeProvider? time = null) : this(TimeSpan.FromMinutes(1), time)
    {
    }

    /// <param name="rateWindow">The window rpm and tpm count in: a minute, shorter in tests.</param>
    internal DeploymentState(TimeSpan rateWindow, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _health = new HealthWindow(_time.TimestampFrequency);
        _queue = new DeploymentQueue(_time);
        _windowQueue = new DeploymentQueue(_time);
        _windowTicks = (long)(rateWindow.TotalSeconds * _time.TimestampFrequency);
    }

    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Exponentially weighted time to the first byte (0 until the first success).</summary>
    public TimeSpan Latency => _time.GetElapsedTime(0, Volatile.Read(ref _latencyTicks));

    internal long LatencyTicks => Volatile.Read(ref _latencyTicks);

    public int ConsecutiveFailures => Volatile.Read(ref _consecutiveFailures);

    /// <summary>Open (or half-open, probing): skipped by every pick while another deployment can serve. A successful probe closes it.</summary>
    public bool IsOpen => Volatile.Read(ref _openUntil) != 0;

    /// <summary>When an open breaker lets its next probe through (a timestamp of the state's clock), or 0 when closed.</summary>
    public long OpenUntil => Volatile.Read(ref _openUntil);

    public void Started() => Interlocked.Increment(ref _inFlight);

    /// <summary>
    /// Whether this minute cannot take a request of <paramref name="tokens"/>: its requests reached
    /// <paramref name="rpm"/>, or its tokens would pass <paramref name="tpm"/> (0: no limit), or
    /// requests already wait for the next minute. A request larger than the whole
    /// <paramref name="tpm"/> still goes into an empty minute: the provider, not the gateway, says
    /// whether it is too large.
    /// </summary>
    public bool WindowFull(int rpm, int tpm, int tokens, long now)
    {
        if (rpm <= 0 && tpm <= 0) return false;
        if (_windowQueue.Count > 0) return true;
        lock (_window) return now - _windowStart < _windowTicks && Over(rpm, tpm, tokens);
    }

    private bool Over(int rpm, int tpm, int tokens) =>
        (rpm > 0 && _windowCount >= rpm) || (tpm > 0 && _windowTokens > 0 && _windowTokens + tokens > tpm);

    /// <summary>Under the window lock: starts a new window when the current one is over, then counts the request if it fits.</summary>
    private bool TryTake(int rpm, int tpm, int tokens, long now)
    {
        if (now - _windowStart >= _windowTicks)
        {
            _windowStart = now;
            _windowCount = 0;
            _windowTokens = 0;
        }
        if (Over(rpm, tpm, tokens)) return false;
        _windowCount++;
        _windowTokens += tokens;
        return true;
    }

    /// <summary>
    /// Counts a request of <paramref name="tokens"/> against <paramref name="rpm"/> and
    /// <paramref name="tpm"/> in the current one-minute window; when the minute is used up (or others
    /// already wait for the next), says which limit and the time until the window turns.
    /// </summary>
    public WindowLimit TryCountRequest(int rpm, int tpm, int tokens, long now, out TimeSpan untilNextWindow)
    {
        untilNextWindow = TimeSpan.Zero;
        if (rpm <= 0 && tpm <= 0) return WindowLimit.None;
        lock (_window)
        {
            // Waiters go first: an arrival must not take the place of a request queued for this window.
            if (_windowQueue.Count == 0 && TryTake(rpm, tpm, tokens, now)) return WindowLimit.None;
            untilNextWindow = _time.GetElapsedTime(now, _windowStart + _windowTicks);
            return (rpm > 0 && _windowCount >= rpm) || tpm <= 0 ? WindowLimit.Requests : WindowLimit.Tokens;
        }
    }

    /// <summary>
    /// Waits for room in a later window, in the deployment's priority queue (bounded in length and
    /// wait, low priority shed first). On <see cref="QueueRefusal.None"/> the request was counted.
    /// </summary>
    public async Task<QueueRefusal> WaitForWindowAsync(int rpm, int tpm, int tokens, RequestPriority priority, int maxQueue, TimeSpan maxWait,
        CancellationToken cancellationToken)
    {
        Volatile.Write(ref _waitRpm, rpm);
        Volatile.Write(ref _waitTpm, tpm);
        var waiting = _windowQueue.WaitAsync(priority, maxQueue, maxWait, cancellationToken, tokens);
        ArmWindowTimer();
        return await waiting.ConfigureAwait(false);
    }

    /// <summary>How long until the current rate window turns (zero when it already has).</summary>
    public TimeSpan UntilWindowTurn(long now)
    {
        lock (_window)
        {
            long end = _windowStart + _windowTicks;
            return now >= end ? TimeSpan.Zero : _time.GetElapsedTime(now, end);
        }
    }

    /// <summary>Requests waiting for the next rate window.</summary>
    public int WaitingForWindow => _windowQueue.Count;

    private void ArmWindowTimer()
    {
        lock (_window)
        {
            if (_windowTimerArmed || _windowQueue.Count == 0) return;
            _windowTimerArmed = true;
            // A millisecond past the turn: timers round, and an early wake-up would find the old window.
            var due = _time.GetElapsedTime(_time.GetTimestamp(), _windowStart + _windowTicks) + TimeSpan.FromMilliseconds(1);
            if (due < TimeSpan.FromMilliseconds(1)) due = TimeSpan.FromMilliseconds(1);
            if (_windowTimer is null) _windowTimer = _time.CreateTimer(static state => ((DeploymentState)state!).WindowTurned(), this, due, Timeout.InfiniteTimeSpan);
            else _windowTimer.Change(due, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>The window turned: waiters are counted into it, most urgent first, while it has room.</summary>
    private void WindowTurned()
    {
        lock (_window) _windowTimerArmed = false;
        int rpm = Volatile.Read(ref _waitRpm), tpm = Volatile.Read(ref _waitTpm);
        _windowQueue.HandOverWhile(tokens =>
        {
            lock (_window) return TryTake(rpm, tpm, tokens, _time.GetTimestamp());
        });
        ArmWindowTimer(); // those left wait for the next turn (their own wait limit permitting)
    }

    /// <summary>Requests waiting for a slot.</summary>
    public int Queued => _queue.Count;

    /// <summary>Whether a call could start now without waiting (<paramref name="maxConcurrency"/> 0: no limit).</summary>
    public bool HasCapacity(int maxConcurrency) => maxConcurrency <= 0 || Volatile.Read(ref _inFlight) < maxConcurrency;

    /// <summary>
    /// Takes a slot for a call: at once when one is free, else in the queue by priority (bounded in
    /// length and wait). On <see cref="QueueRefusal.None"/> the call counts as in flight.
    /// </summary>
    public async ValueTask<QueueRefusal> AcquireAsync(int maxConcurrency, RequestPriority priority, int maxQueue, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        if (maxConcurrency <= 0)
        {
            Interlocked.Increment(ref _inFlight);
            return QueueRefusal.None;
        }
        int current;
        while ((current = Volatile.Read(ref _inFlight)) < maxConcurrency && _queue.Count == 0)
            if (Interlocked.CompareExchange(ref _inFlight, current + 1, current) == current) return QueueRefusal.None;
        // The slot is handed over with the in-flight count unchanged: the finishing call's becomes ours.
        return await _queue.WaitAsync(priority, maxQueue, maxWait, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A call's slot is free: the most urgent waiter takes it, or the count goes down.</summary>
    private void Release()
    {
        if (!_queue.TryHandOver()) Interlocked.Decrement(ref _inFlight);
    }

    /// <summary>
    /// The call is over. A success feeds the latency average and closes the breaker; a failure
    /// counts toward opening it, and re-opens it after a failed probe. The open period only ever
    /// extends: a later failure never shortens a cool-down already running.
    /// </summary>
    public BreakerTransition Finished(bool success, long firstByteTicks, long now) => Finished(success, firstByteTicks, now, BreakerConfig.Default);

    /// <param name="breaker">The group's breaker: its thresholds and open period.</param>
    /// <returns>What this call did to the breaker, for the operator's log.</returns>
    public BreakerTransition Finished(bool success, long firstByteTicks, long now, BreakerConfig breaker)
    {
        Release();
        bool ratioReached = breaker.FailureRatio > 0 && _health.Record(success, now, breaker);
        if (success)
        {
            long old = Volatile.Read(ref _latencyTicks);
            // alpha 1/4: a slowed deployment shows within a few calls, one outlier does not swing it.
            Volatile.Write(ref _latencyTicks, old == 0 ? firstByteTicks : old + (firstByteTicks - old) / 4);
            Volatile.Write(ref _consecutiveFailures, 0);
            Volatile.Write(ref _probeSince, 0);
            // Closing starts the ratio afresh: the failures that opened it must not re-open it at the next one.
            if (Interlocked.Exchange(ref _openUntil, 0) == 0) return BreakerTransition.None;
            _health.Clear();
            return BreakerTransition.Closed;
        }
        int failures = Interlocked.Increment(ref _consecutiveFailures);
        bool wasProbe = Interlocked.Exchange(ref _probeSince, 0) != 0;
        if (failures < breaker.Failures && !wasProbe && !ratioReached) return BreakerTransition.None;
        bool opened = ExtendOpen(now + (long)(breaker.CoolDown.TotalSeconds * _time.TimestampFrequency));
        return wasProbe ? BreakerTransition.ProbeFailed : opened ? BreakerTransition.Opened : BreakerTransition.None;
    }

    /// <summary>Calls and failures in the breaker's window, for its failure ratio.</summary>
    public (int Calls, int Failures) WindowHealth(long now, BreakerConfig breaker) => _health.Totals(now, breaker);

    /// <summary>The provider asked for a pause (<c>retry-after</c>): no request is sent its way until then, unless nothing else can serve.</summary>
    public void RestFor(TimeSpan pause, long now) => ExtendOpen(now + (long)(pause.TotalSeconds * _time.TimestampFrequency));

    /// <summary>The call holding a slot ended without an answer (never sent, or the client left): the slot and any probe claim are given up.</summary>
    public void Abandoned()
    {
        Release();
        NotSent();
    }

    /// <summary>
    /// A call picked for this deployment was not sent (refused by its queue, or its client left):
    /// while the breaker is open, that call was the probe, and the next request may probe instead.
    /// </summary>
    public void NotSent()
    {
        if (IsOpen) Volatile.Write(ref _probeSince, 0);
    }

    /// <summary>
    /// How long a probe claim holds when nothing reports back: longer than any call may take (the
    /// default total limit), so a slow probe is never joined by a second one. Calls that are not sent
    /// give their claim up at once (<see cref="NotSent"/>); this only covers a claim nobody settles.
    /// </summary>
    public static readonly TimeSpan ProbeClaimExpiry = TimeSpan.FromMinutes(10);

    /// <summary>An open breaker whose cool-down is over lets exactly one caller through as the probe.</summary>
    public bool TryProbe(long now)
    {
        long until = Volatile.Read(ref _openUntil);
        if (until == 0 || now < until) return false;
        long since = Volatile.Read(ref _probeSince);
        if (since != 0 && now - since < (long)(ProbeClaimExpiry.TotalSeconds * _time.TimestampFrequency)) return false;
        return Interlocked.CompareExchange(ref _probeSince, now, since) == since;
    }

    /// <returns>True when this opened a closed breaker.</returns>
    private bool ExtendOpen(long until)
    {
        long current;
        do
        {
            current = Volatile.Read(ref _openUntil);
            if (current >= until) return false;
        }
        while (Interlocked.CompareExchange(ref _openUntil, until, current) != current);
        return current == 0;
    }
}

/// <summary>What a finished call did to its deployment's circuit breaker.</summary>
public enum BreakerTransition
{
    None,

    /// <summary>Failures opened a closed breaker: the deployment is kept out for its cool-down.</summary>
    Opened,

    /// <summary>The probe after a cool-down failed: open for another cool-down.</summary>
    ProbeFailed,

    /// <summary>A success (the probe) closed an open breaker.</summary>
    Closed,
}

/// <summary>Which per-minute limit turned a request away.</summary>
public enum WindowLimit
{
    None,
    Requests,
    Tokens,
}

/// <summary>Every deployment's state by provider and model, kept across config reloads.</summary>
public sealed class DeploymentStates
{
    private readonly ConcurrentDictionary<string, DeploymentState> _states = new(StringComparer.Ordinal);

    private readonly TimeProvider _time;

    /// <param name="time">The routing clock (the system's unless a test drives it).</param>
    public DeploymentStates(TimeProvider? time = null) => _time = time ?? TimeProvider.System;

    public DeploymentState Get(string provider, string model) => _states.GetOrAdd(provider + "/" + model, static (_, time) => new DeploymentState(time), _time);

    /// <summary>Every deployment seen so far, by <c>provider/model</c> (for metrics and health pages).</summary>
    public IEnumerable<KeyValuePair<string, DeploymentState>> All => _states;
}

/// <summary>
/// Calls and failures over a rolling window, in ten buckets of a tenth of it each (the way Polly's
/// and resilience4j's breakers keep their health), so old calls age out without a list of them.
/// </summary>
internal sealed class HealthWindow(long timestampFrequency)
{
    private const int Buckets = 10;
    private readonly Lock _lock = new();
    private readonly int[] _calls = new int[Buckets];
    private readonly int[] _failures = new int[Buckets];
    private long _bucketTicks;
    private long _newest;

    /// <summary>Counts a call; true when it was a failure that brings the window to the breaker's ratio.</summary>
    public bool Record(bool success, long now, BreakerConfig breaker)
    {
        lock (_lock)
        {
            int bucket = Advance(now, breaker);
            _calls[bucket]++;
            if (success) return false;
            _failures[bucket]++;
            var (calls, failures) = Sum();
            return calls >= breaker.MinimumCalls && failures >= breaker.FailureRatio * calls;
        }
    }

    public (int Calls, int Failures) Totals(long now, BreakerConfig breaker)
    {
        lock (_lock)
        {
            Advance(now, breaker);
            return Sum();
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            Array.Clear(_calls);
            Array.Clear(_failures);
        }
    }

    /// <summary>Moves the window up to <paramref name="now"/>, emptying the buckets it leaves behind; the current bucket's index.</summary>
    private int Advance(long now, BreakerConfig breaker)
    {
        long length = Math.Max(1, (long)(breaker.Window.TotalSeconds * timestampFrequency) / Buckets);
        long epoch = now / length;
        if (length != _bucketTicks)
        {
            // Another window length (a config reload): start over rather than mix bucket sizes.
            _bucketTicks = length;
            _newest = epoch;
            Array.Clear(_calls);
            Array.Clear(_failures);
        }
        // A timestamp a hair older than the newest bucket (another thread's) counts in the newest.
        for (long e = _newest + 1; e <= epoch && e <= _newest + Buckets; e++)
        {
            int stale = (int)(e % Buckets);
            _calls[stale] = 0;
            _failures[stale] = 0;
        }
        if (epoch > _newest) _newest = epoch;
        return (int)(_newest % Buckets);
    }

    private (int Calls, int Failures) Sum()
    {
        int calls = 0, failures = 0;
        for (int i = 0; i < Buckets; i++)
        {
            calls += _calls[i];
            failures += _failures[i];
        }
        return (calls, failures);
    }
}
