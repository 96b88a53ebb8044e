using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Policies.Tests;

/// <summary>The runner's promises with calls that do not stop: they are given up on, capacity stays, waits are bounded.</summary>
public sealed class PolicyRunnerTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    /// <summary>A call that ignores every limit until it is released (what a native loop looks like to the runner).</summary>
    private sealed class StuckJob(TimeSpan limit, long queueDeadline = long.MaxValue) : PolicyJob("stuck", limit, queueDeadline,
        (long)((limit + PolicyRunner.Grace).TotalSeconds * System.Diagnostics.Stopwatch.Frequency))
    {
        public readonly ManualResetEventSlim Release = new();
        public readonly ManualResetEventSlim Entered = new();
        public readonly TaskCompletionSource<PolicyOutcome> Result = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override void Run()
        {
            InputRead();
            Entered.Set();
            Release.Wait();
            if (Finish()) Result.TrySetResult(PolicyOutcome.Unchanged);
        }

        protected override void Complete(PolicyOutcome outcome) => Result.TrySetResult(outcome);
    }

    [Fact]
    public async Task ACallThatNeverStops_IsGivenUpOn_AndAFreshWorkerTakesItsPlace()
    {
        using var runner = new PolicyRunner(NullLogger.Instance, workers: 1);
        var stuck = new StuckJob(TimeSpan.FromMilliseconds(100));
        runner.Enqueue(stuck);
        var outcome = await stuck.Result.Task.WaitAsync(Wait);
        Assert.Equal(PolicyOutcomeKind.Failed, outcome.Kind);
        Assert.True(outcome.LimitHit);
        Assert.Contains("given up", outcome.Message, StringComparison.Ordinal);
        Assert.Equal(1, runner.Stuck);

        // The one worker is stuck, yet the next call runs.
        var next = new StuckJob(TimeSpan.FromSeconds(5));
        runner.Enqueue(next);
        Assert.True(next.Entered.Wait(Wait));
        next.Release.Set();
        Assert.Equal(PolicyOutcomeKind.Unchanged, (await next.Result.Task.WaitAsync(Wait)).Kind);

        // The stuck call finally returns: its result goes nowhere, and its worker is no longer counted stuck.
        stuck.Release.Set();
        var deadline = DateTime.UtcNow + Wait;
        while (runner.Stuck != 0 && DateTime.UtcNow < deadline) await Task.Delay(10);
        Assert.Equal(0, runner.Stuck);
    }

    [Fact]
    public async Task AtMostWorkersCallsRunAtOnce_AndAWaitPastTheQueueLimitIsBusy()
    {
        using var runner = new PolicyRunner(NullLogger.Instance, workers: 2, queueTimeout: TimeSpan.FromMilliseconds(200));
        var running = Enumerable.Range(0, 2).Select(_ => new StuckJob(TimeSpan.FromSeconds(30))).ToArray();
        foreach (var job in running) runner.Enqueue(job);
        foreach (var job in running) Assert.True(job.Entered.Wait(Wait));

        var waiting = new StuckJob(TimeSpan.FromSeconds(30),
            System.Diagnostics.Stopwatch.GetTimestamp() + System.Diagnostics.Stopwatch.Frequency / 5);
        runner.Enqueue(waiting);
        var outcome = await waiting.Result.Task.WaitAsync(Wait);
        Assert.Equal(PolicyOutcomeKind.Busy, outcome.Kind);
        Assert.False(waiting.Entered.IsSet);
        foreach (var job in running) job.Release.Set();
    }

    [Fact]
    public async Task Workers_HaveTheStackTheGuardCountsOn()
    {
        using var runner = new PolicyRunner(NullLogger.Instance, workers: 1);
        var policy = CompiledPolicy.Compile("deep.js", """
            const depth = (n) => n === 0 ? 0 : 1 + depth(n - 1);
            export function onRequest(req) { req.depth = depth(200); return req; }
            """, 1, PolicyMode.FailClosed, CompiledPolicyTests.TestLimits, out var error);
        Assert.True(policy is not null, error);
        var (outcome, output) = await runner.CallAsync(policy, PolicyHooks.OnRequest, """{"model":"m"}"""u8.ToArray(), new PolicyContext("m"),
            size => new TestBuffer(size));
        Assert.Equal(PolicyOutcomeKind.Changed, outcome.Kind);
        output!.Dispose();
    }
}
