using Jint;
using Jint.Runtime;

namespace Gateway.Policies.Sandbox;

/// <summary>
/// One engine's view of its current call: the bytes it may still allocate (for the built-ins that
/// check a result's size before they build it) and whether the gateway has already given the call up.
/// Registered beside Jint's own memory limit, which stays the authority after the fact; this one lets
/// a single native step be refused before it allocates.
/// </summary>
internal sealed class CallBudget(long limitBytes, TimeSpan timeout) : Constraint
{
    /// <summary>
    /// Making an engine (the lockdown, then the module's top level) runs once per engine under a wider
    /// time limit than a call: a cold process can take longer than 100 ms over it, and it runs no
    /// request data.
    /// </summary>
    private static readonly TimeSpan SetupTimeout = TimeSpan.FromSeconds(5);

    private readonly long _timeoutTicks = Ticks(timeout);
    private long _start, _deadline;
    private volatile bool _abandoned;

    /// <summary>A clock and a flag, read only: checking them less often only delays the stop.</summary>
    public override bool IsAmortizable => true;

    public long LimitBytes { get; } = limitBytes;

    /// <summary>While true, executions get the setup time limit instead of the call's.</summary>
    public bool Setup { get; set; }

    /// <summary>What this call may still allocate; only meaningful on the thread that runs it.</summary>
    public long Remaining => LimitBytes - (GC.GetAllocatedBytesForCurrentThread() - _start);

    /// <summary>Set (from another thread) when the gateway stopped waiting: the next check ends the script.</summary>
    public bool Abandoned => _abandoned;

    public void Abandon() => _abandoned = true;

    public override void Check()
    {
        if (_abandoned) throw new ExecutionCanceledException();
        if (System.Diagnostics.Stopwatch.GetTimestamp() > _deadline) throw new TimeoutException();
    }

    // The abandoned flag survives resets: an engine whose call was given up is discarded, never reused.
    public override void Reset()
    {
        _start = GC.GetAllocatedBytesForCurrentThread();
        _deadline = System.Diagnostics.Stopwatch.GetTimestamp() + (Setup ? Ticks(SetupTimeout) : _timeoutTicks);
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);

    /// <summary>Refuses a step that would allocate <paramref name="bytes"/> past what is left.</summary>
    public void Require(double bytes, string what)
    {
        long remaining = Remaining;
        if (bytes > remaining)
            throw new MemoryLimitExceededException($"{what} would allocate {bytes:0} bytes; the policy may allocate {LimitBytes} per call and has {Math.Max(0, remaining)} left");
    }
}
