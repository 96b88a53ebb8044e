using System.Buffers;
using System.Collections.Concurrent;
using System.Threading.Tasks.Sources;
using Gateway.Policies.Sandbox;
using Microsoft.Extensions.Logging;

namespace Gateway.Policies;

/// <summary>
/// Runs policy calls on its own threads, never on the request path's. Three reasons:
/// <list type="bullet">
/// <item>A known stack: each worker has <see cref="StackBytes"/>, so the engine's stack guard has room to
/// turn any deep recursion into an error, and no policy can overflow a thread-pool thread's stack.</item>
/// <item>A concurrency cap: at most <see cref="Workers"/> calls run at once (by default one fewer than the
/// cores), so CPU-bound policies leave the request path a core and cannot starve the thread pool.</item>
/// <item>An outer deadline: a call still running past its time limit (plus <see cref="Grace"/>) is given up;
/// its request goes on as the policy's mode says, its engine is discarded, and a fresh worker takes
/// the stuck one's place (up to <see cref="MaxStuck"/> stuck at once).</item>
/// </list>
/// A call waits for a worker at most the queue limit; past it the request is refused as overloaded
/// (503), whatever the mode: an overloaded gateway must not skip a fail-open redaction.
/// </summary>
public sealed partial class PolicyRunner : IDisposable
{
    /// <summary>The stack of a policy worker: deep enough for any legitimate policy, bounded for the guard.</summary>
    public const int StackBytes = 16 * 1024 * 1024;

    /// <summary>Beyond a call's own time limit, which the engine enforces itself whenever script runs, before the call is given up.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromMilliseconds(50);

    public static readonly TimeSpan DefaultQueueTimeout = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(10);

    private readonly ConcurrentQueue<PolicyJob> _queue = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly Lock _gate = new();
    private readonly List<Worker> _workers = [];
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ITimer _watchdog;
    private int _target, _stuck, _started;
    private long _queueTimeoutTicks;
    private volatile bool _disposed;

    public PolicyRunner(ILogger logger, int workers = 0, TimeSpan? queueTimeout = null, TimeProvider? time = null)
    {
        _logger = logger;
        _time = time ?? TimeProvider.System;
        Configure(workers, queueTimeout ?? DefaultQueueTimeout);
        _watchdog = _time.CreateTimer(_ => Watch(), null, Tick, Tick);
    }

    /// <summary>One fewer than the cores (at least one): the request path keeps a core however busy the policies are.</summary>
    public static int DefaultWorkers => Math.Max(1, Environment.ProcessorCount - 1);

    /// <summary>How many calls may run at once.</summary>
    public int Workers => Volatile.Read(ref _target);

    /// <summary>How many workers may sit stuck in a call given up on before no more replacements are started.</summary>
    public int MaxStuck => Math.Max(8, 2 * Workers);

    /// <summary>Workers now stuck in a call that was given up on.</summary>
    public int Stuck => Volatile.Read(ref _stuck);

    /// <summary>Calls waiting for a worker.</summary>
    public int Queued => _queue.Count;

    /// <summary>Sets the number of workers (0: <see cref="DefaultWorkers"/>) and the longest a call waits for one. A config reload may change both.</summary>
    public void Configure(int workers, TimeSpan queueTimeout)
    {
        Volatile.Write(ref _queueTimeoutTicks, (long)(queueTimeout.TotalSeconds * _time.TimestampFrequency));
        lock (_gate)
        {
            _target = workers > 0 ? workers : DefaultWorkers;
            // Extra workers leave after their next call (see Loop); missing ones start now.
            while (!_disposed && _workers.Count - _stuck < _target) StartWorker();
        }
    }

    /// <summary>
    /// Runs one hook on a worker. The result's buffer (for Changed and Respond) is the caller's to
    /// dispose; for any other outcome it is null or empty and disposed too.
    /// </summary>
    public ValueTask<(PolicyOutcome Outcome, TBuffer? Output)> CallAsync<TBuffer>(CompiledPolicy policy, PolicyHooks hook, ReadOnlyMemory<byte> json,
        PolicyContext context, Func<int, TBuffer> rent)
        where TBuffer : class, IBufferWriter<byte>, IDisposable
    {
        if ((policy.Hooks & hook) == 0) return new((PolicyOutcome.Unchanged, null));
        if (policy.IsNative && json.Length <= InlineBytes) return new(CallInline(policy, hook, json.Span, context, rent));
        var job = new PolicyJob<TBuffer>(policy, hook, json, context, rent, _time.GetTimestamp() + Volatile.Read(ref _queueTimeoutTicks),
            (long)((policy.Limits.Timeout + Grace).TotalSeconds * _time.TimestampFrequency));
        Enqueue(job);
        return job.Result;
    }

    /// <summary>
    /// The largest input a C# policy runs on the caller's thread; a larger one goes to a worker like a
    /// script, so a huge prompt's redaction counts against the concurrency cap and stalls no socket thread.
    /// </summary>
    public const int InlineBytes = 64 * 1024;

    private static (PolicyOutcome, TBuffer?) CallInline<TBuffer>(CompiledPolicy policy, PolicyHooks hook, ReadOnlySpan<byte> json, PolicyContext context,
        Func<int, TBuffer> rent)
        where TBuffer : class, IBufferWriter<byte>, IDisposable
    {
        var output = rent(json.Length + 256);
        try
        {
            return (policy.Call(hook, json, context, output), output);
        }
        catch (Exception ex)
        {
            output.Dispose();
            return (PolicyOutcome.Failed($"policy '{policy.Name}': {ex.GetType().Name}: {ex.Message}", false), null);
        }
    }

    internal void Enqueue(PolicyJob job)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _queue.Enqueue(job);
        _signal.Release();
    }

    private void StartWorker()
    {
        var worker = new Worker(this);
        _workers.Add(worker);
        var thread = new Thread(worker.Loop, StackBytes) { IsBackground = true, Name = $"policy-{++_started}" };
        thread.Start();
    }

    private void Watch()
    {
        long now = _time.GetTimestamp();
        Worker[] workers;
        lock (_gate) workers = [.. _workers];
        foreach (var worker in workers)
        {
            if (worker.Current is not { } job || now <= job.RunDeadline || !job.TryAbandon()) continue;
            bool replaced;
            lock (_gate)
            {
                worker.Stuck = true;
                _stuck++;
                replaced = !_disposed && _stuck <= MaxStuck;
                if (replaced) StartWorker();
            }
            Log.Abandoned(_logger, job.PolicyName, (long)(job.Limit + Grace).TotalMilliseconds, _stuck);
            if (!replaced) Log.TooManyStuck(_logger, _stuck, _workers.Count - _stuck);
        }
        if (_queue.IsEmpty) return;
        foreach (var job in _queue)
        {
            if (now > job.QueueDeadline && job.TryExpire()) Log.Expired(_logger, job.PolicyName);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        _watchdog.Dispose();
        while (_queue.TryDequeue(out var job)) job.TryExpire();
        _signal.Release(1024);
    }

    private sealed class Worker(PolicyRunner runner)
    {
        public volatile PolicyJob? Current;
        public bool Stuck;

        public void Loop()
        {
            while (true)
            {
                runner._signal.Wait();
                if (runner._disposed) return;
                if (!runner._queue.TryDequeue(out var job)) continue;
                Current = job;
                job.Execute(runner._time);
                Current = null;
                lock (runner._gate)
                {
                    if (Stuck)
                    {
                        Stuck = false;
                        runner._stuck--;
                    }
                    // More workers than wanted (a replacement started while this one was stuck, or a
                    // smaller setting): this one leaves.
                    if (runner._workers.Count - runner._stuck > runner._target || runner._disposed)
                    {
                        runner._workers.Remove(this);
                        return;
                    }
                }
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4301, Level = LogLevel.Error, Message = "Policy {Policy}: a call ran past {LimitMs} ms without stopping and was given up (its engine is discarded; {Stuck} worker(s) still stuck in such calls)")]
        public static partial void Abandoned(ILogger logger, string policy, long limitMs, int stuck);

        [LoggerMessage(EventId = 4302, Level = LogLevel.Critical, Message = "{Stuck} policy workers are stuck in calls that were given up; no more replacements are started ({Live} serve)")]
        public static partial void TooManyStuck(ILogger logger, int stuck, int live);

        [LoggerMessage(EventId = 4303, Level = LogLevel.Warning, Message = "Policy {Policy}: no worker was free within the queue limit; the request was refused as overloaded")]
        public static partial void Expired(ILogger logger, string policy);
    }
}

/// <summary>What the runner sees of a call while a worker runs it.</summary>
internal interface IPolicyCallSite
{
    /// <summary>The engine's budget: through it a call given up on is told to stop.</summary>
    void Started(CallBudget budget);

    /// <summary>The call no longer reads its input: from now on it may be given up on (the caller may free the input).</summary>
    void InputRead();

    /// <summary>The call returned: true when its caller still waits for the result (it was not given up on, and now cannot be).</summary>
    bool Finish();
}

/// <summary>One call on its way through the runner: queued, reading its input, running, then done, given up on or expired.</summary>
internal abstract class PolicyJob : IPolicyCallSite
{
    protected const int Queued = 0, Reading = 1, Running = 2, Done = 3, Abandoned = 4, Expired = 5;
    protected int _state;
    private long _runDeadline = long.MaxValue;
    private CallBudget? _budget;

    protected PolicyJob(string policyName, TimeSpan limit, long queueDeadline, long runTicks)
    {
        PolicyName = policyName;
        Limit = limit;
        QueueDeadline = queueDeadline;
        RunTicks = runTicks;
    }

    public string PolicyName { get; }
    public TimeSpan Limit { get; }
    public long QueueDeadline { get; }
    private long RunTicks { get; }

    /// <summary>When the worker started it plus its limit and the grace; never while it waits.</summary>
    public long RunDeadline => Volatile.Read(ref _runDeadline);

    /// <summary>On the worker: runs the call unless it expired in the queue.</summary>
    public void Execute(TimeProvider time)
    {
        if (Interlocked.CompareExchange(ref _state, Reading, Queued) != Queued) return;
        Volatile.Write(ref _runDeadline, time.GetTimestamp() + RunTicks);
        Run();
    }

    protected abstract void Run();

    public void Started(CallBudget budget) => _budget = budget;

    public void InputRead() => Interlocked.CompareExchange(ref _state, Running, Reading);

    private int _finished = -1;

    /// <summary>On the worker, when the call returns: the caller gets the result unless it was given up on. Idempotent.</summary>
    public bool Finish()
    {
        if (_finished < 0)
        {
            InputRead();
            _finished = Interlocked.CompareExchange(ref _state, Done, Running) == Running ? 1 : 0;
        }
        return _finished == 1;
    }

    /// <summary>The watchdog's: gives up on a call past its deadline (never one still reading its input).</summary>
    public bool TryAbandon()
    {
        if (Interlocked.CompareExchange(ref _state, Abandoned, Running) != Running) return false;
        _budget?.Abandon();
        Complete(PolicyOutcome.Failed(
            $"policy '{PolicyName}': time limit reached ({(long)Limit.TotalMilliseconds} ms; the call did not stop and was given up)", true));
        return true;
    }

    /// <summary>Refuses a call that waited too long for a worker.</summary>
    public bool TryExpire()
    {
        if (Interlocked.CompareExchange(ref _state, Expired, Queued) != Queued) return false;
        Complete(PolicyOutcome.Busy($"policy '{PolicyName}' could not run: every policy worker stayed busy past the queue limit"));
        return true;
    }

    protected abstract void Complete(PolicyOutcome outcome);
}

internal sealed class PolicyJob<TBuffer> : PolicyJob, IValueTaskSource<(PolicyOutcome, TBuffer?)>
    where TBuffer : class, IBufferWriter<byte>, IDisposable
{
    private readonly CompiledPolicy _policy;
    private readonly PolicyHooks _hook;
    private readonly ReadOnlyMemory<byte> _json;
    private readonly PolicyContext _context;
    private readonly Func<int, TBuffer> _rent;
    private ManualResetValueTaskSourceCore<(PolicyOutcome, TBuffer?)> _core = new() { RunContinuationsAsynchronously = true };

    public PolicyJob(CompiledPolicy policy, PolicyHooks hook, ReadOnlyMemory<byte> json, PolicyContext context, Func<int, TBuffer> rent,
        long queueDeadline, long runTicks)
        : base(policy.Name, policy.Limits.Timeout, queueDeadline, runTicks)
    {
        _policy = policy;
        _hook = hook;
        _json = json;
        _context = context;
        _rent = rent;
    }

    public ValueTask<(PolicyOutcome, TBuffer?)> Result => new(this, _core.Version);

    protected override void Run()
    {
        var output = _rent(_json.Length + 256);
        PolicyOutcome outcome;
        try
        {
            outcome = _policy.Call(_hook, _json.Span, _context, output, this);
        }
        catch (Exception ex)
        {
            // A fault of the gateway's own (the engine's failures are outcomes already): the call fails,
            // the worker lives on.
            outcome = PolicyOutcome.Failed($"policy '{PolicyName}': {ex.GetType().Name}: {ex.Message}", true);
        }
        if (Finish()) _core.SetResult((outcome, output));
        else output.Dispose(); // given up on: the caller has moved on without it
    }

    protected override void Complete(PolicyOutcome outcome) => _core.SetResult((outcome, null));

    public (PolicyOutcome, TBuffer?) GetResult(short token) => _core.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
