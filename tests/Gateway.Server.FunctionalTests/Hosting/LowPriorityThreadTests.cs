using System.Globalization;
using Gateway.Server.Hosting;

namespace Gateway.Server.FunctionalTests.Hosting;

public sealed class LowPriorityThreadTests
{
    /// <summary>The calling thread's nice value (field 19 of <c>/proc/thread-self/stat</c>).</summary>
    internal static int CurrentNice()
    {
        string stat = File.ReadAllText("/proc/thread-self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[19 - 3], CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Work_RunsInOrder_OnOneThreadOfItsOwn_AtTheNiceValueAsked()
    {
        int callerNice = CurrentNice();
        Assert.True(callerNice <= 10, "the test needs to run at a nice value of 10 or less");
        using var thread = new LowPriorityThread("test-low", 10);
        int caller = Environment.CurrentManagedThreadId;
        var seen = new List<(int Thread, int Nice, int Item)>();
        var runs = Enumerable.Range(0, 20).Select(i => thread.RunAsync(() =>
        {
            lock (seen) seen.Add((Environment.CurrentManagedThreadId, CurrentNice(), i));
            return i;
        })).ToArray();
        Assert.Equal(Enumerable.Range(0, 20), await Task.WhenAll(runs));
        Assert.Equal(Enumerable.Range(0, 20), seen.Select(s => s.Item));
        var thread0 = Assert.Single(seen.Select(s => s.Thread).Distinct());
        Assert.NotEqual(caller, thread0);
        Assert.All(seen, s => Assert.Equal(10, s.Nice));
        Assert.True(thread.Applied);
        // The nice value is the worker's alone: the process's other threads keep theirs.
        Assert.Equal(callerNice, CurrentNice());
    }

    [Fact]
    public async Task AFailure_ReachesTheCaller_AndTheThreadGoesOn()
    {
        using var thread = new LowPriorityThread("test-low", 5);
        var failed = thread.RunAsync<int>(() => throw new InvalidOperationException("boom"));
        Assert.Equal("boom", (await Assert.ThrowsAsync<InvalidOperationException>(() => failed)).Message);
        Assert.Equal(7, await thread.RunAsync(() => 7));
    }

    [Fact]
    public async Task Stopped_WhatWasQueuedStillRuns_AndLaterWorkRunsOnTheCallersThread()
    {
        var thread = new LowPriorityThread("test-low", 5);
        using var gate = new ManualResetEventSlim();
        var blocked = thread.RunAsync(() => gate.Wait(TimeSpan.FromSeconds(10)));
        var queued = thread.RunAsync(() => Environment.CurrentManagedThreadId);
        var stopping = Task.Run(thread.Dispose);
        gate.Set();
        await stopping;
        Assert.True(await blocked);
        Assert.NotEqual(0, await queued);
        int caller = Environment.CurrentManagedThreadId;
        Assert.Equal(caller, await thread.RunAsync(() => Environment.CurrentManagedThreadId));
        thread.Dispose(); // twice is fine
    }
}
