using System.Diagnostics;
using Gateway.Core.Routing;

namespace Gateway.Core.Tests.Routing;

public class DeploymentQueueTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task FullDeployment_AFreedSlotGoesToTheMostUrgentWaiter()
    {
        var state = new DeploymentState();
        Assert.Equal(QueueRefusal.None, await state.AcquireAsync(1, RequestPriority.Normal, 10, Wait, default));
        var low = state.AcquireAsync(1, RequestPriority.Low, 10, Wait, default).AsTask();
        var high = state.AcquireAsync(1, RequestPriority.High, 10, Wait, default).AsTask();
        await Task.Delay(50);
        Assert.False(low.IsCompleted || high.IsCompleted);
        Assert.Equal(2, state.Queued);

        state.Finished(true, 100, Stopwatch.GetTimestamp());
        Assert.Equal(QueueRefusal.None, await high.WaitAsync(Wait));
        Assert.False(low.IsCompleted);
        Assert.Equal(1, state.InFlight); // the slot was handed over, not freed

        state.Finished(true, 100, Stopwatch.GetTimestamp());
        Assert.Equal(QueueRefusal.None, await low.WaitAsync(Wait));
        state.Finished(true, 100, Stopwatch.GetTimestamp());
        Assert.Equal(0, state.InFlight);
    }

    [Fact]
    public async Task FullQueue_ShedsTheLeastUrgent_OrRefusesTheArrival()
    {
        var state = new DeploymentState();
        await state.AcquireAsync(1, RequestPriority.Normal, 2, Wait, default);
        var low = state.AcquireAsync(1, RequestPriority.Low, 2, Wait, default).AsTask();
        var normal = state.AcquireAsync(1, RequestPriority.Normal, 2, Wait, default).AsTask();
        // Queue full (2): a high arrival sheds the low waiter; another normal one is refused.
        var high = state.AcquireAsync(1, RequestPriority.High, 2, Wait, default).AsTask();
        Assert.Equal(QueueRefusal.Shed, await low.WaitAsync(Wait));
        Assert.Equal(QueueRefusal.Full, await state.AcquireAsync(1, RequestPriority.Normal, 2, Wait, default));
        state.Finished(true, 100, Stopwatch.GetTimestamp());
        Assert.Equal(QueueRefusal.None, await high.WaitAsync(Wait));
        Assert.False(normal.IsCompleted);
    }

    [Fact]
    public async Task NoSlotInTime_TimesOut_AndLeavesTheQueue()
    {
        var state = new DeploymentState();
        await state.AcquireAsync(1, RequestPriority.Normal, 10, Wait, default);
        Assert.Equal(QueueRefusal.TimedOut, await state.AcquireAsync(1, RequestPriority.High, 10, TimeSpan.FromMilliseconds(100), default));
        Assert.Equal(0, state.Queued);
        state.Finished(true, 100, Stopwatch.GetTimestamp());
        Assert.Equal(0, state.InFlight);
    }

    [Fact]
    public void Rpm_CountsAMinuteThenSaysWhenTheNextStarts()
    {
        var state = new DeploymentState();
        long now = Stopwatch.GetTimestamp();
        Assert.True(state.TryCountRequest(2, now, out _));
        Assert.False(state.RpmReached(2, now));
        Assert.True(state.TryCountRequest(2, now, out _));
        Assert.True(state.RpmReached(2, now));
        Assert.False(state.TryCountRequest(2, now + Stopwatch.Frequency * 10, out var wait));
        Assert.InRange(wait.TotalSeconds, 49, 51);
        long nextMinute = now + Stopwatch.Frequency * 61;
        Assert.False(state.RpmReached(2, nextMinute));
        Assert.True(state.TryCountRequest(2, nextMinute, out _));
        Assert.True(state.TryCountRequest(0, now, out _)); // 0: no limit
    }

    [Fact]
    public async Task NoLimit_NeverQueues()
    {
        var state = new DeploymentState();
        for (int i = 0; i < 100; i++) Assert.Equal(QueueRefusal.None, await state.AcquireAsync(0, RequestPriority.Low, 0, Wait, default));
        Assert.Equal(100, state.InFlight);
    }
}
