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
        Assert.Equal(WindowLimit.None, state.TryCountRequest(2, 0, 10, now, out _));
        Assert.False(state.WindowFull(2, 0, 10, now));
        Assert.Equal(WindowLimit.None, state.TryCountRequest(2, 0, 10, now, out _));
        Assert.True(state.WindowFull(2, 0, 10, now));
        Assert.Equal(WindowLimit.Requests, state.TryCountRequest(2, 0, 10, now + Stopwatch.Frequency * 10, out var wait));
        Assert.InRange(wait.TotalSeconds, 49, 51);
        long nextMinute = now + Stopwatch.Frequency * 61;
        Assert.False(state.WindowFull(2, 0, 10, nextMinute));
        Assert.Equal(WindowLimit.None, state.TryCountRequest(2, 0, 10, nextMinute, out _));
        Assert.Equal(WindowLimit.None, state.TryCountRequest(0, 0, 10, now, out _)); // 0: no limit
    }

    [Fact]
    public void Tpm_CountsTokensAndLetsAnOversizeRequestIntoAnEmptyMinute()
    {
        var state = new DeploymentState();
        long now = Stopwatch.GetTimestamp();
        Assert.Equal(WindowLimit.None, state.TryCountRequest(0, 1000, 600, now, out _));
        Assert.False(state.WindowFull(0, 1000, 400, now));
        Assert.True(state.WindowFull(0, 1000, 401, now));
        Assert.Equal(WindowLimit.Tokens, state.TryCountRequest(0, 1000, 401, now, out var wait));
        Assert.InRange(wait.TotalSeconds, 59, 60);
        Assert.Equal(WindowLimit.None, state.TryCountRequest(0, 1000, 400, now, out _));
        Assert.Equal(WindowLimit.Tokens, state.TryCountRequest(0, 1000, 1, now, out _));

        long nextMinute = now + Stopwatch.Frequency * 61;
        // Larger than the whole limit: the provider decides, the gateway does not starve it for ever.
        Assert.False(state.WindowFull(0, 1000, 5000, nextMinute));
        Assert.Equal(WindowLimit.None, state.TryCountRequest(0, 1000, 5000, nextMinute, out _));
        Assert.Equal(WindowLimit.Tokens, state.TryCountRequest(0, 1000, 1, nextMinute, out _));
    }

    [Fact]
    public void RpmAndTpm_TheRequestLimitIsNamedWhenBothAreReached()
    {
        var state = new DeploymentState();
        long now = Stopwatch.GetTimestamp();
        Assert.Equal(WindowLimit.None, state.TryCountRequest(1, 100, 100, now, out _));
        Assert.Equal(WindowLimit.Requests, state.TryCountRequest(1, 100, 100, now, out _));
    }

    [Fact]
    public async Task RateWindow_WaitersGetTheNextWindowsByPriority_NotByArrival()
    {
        var state = new DeploymentState(TimeSpan.FromMilliseconds(300));
        Assert.Equal(WindowLimit.None, state.TryCountRequest(1, 0, 1, Stopwatch.GetTimestamp(), out _));
        var low = state.WaitForWindowAsync(1, 0, 1, RequestPriority.Low, 10, TimeSpan.FromSeconds(10), default);
        var normal = state.WaitForWindowAsync(1, 0, 1, RequestPriority.Normal, 10, TimeSpan.FromSeconds(10), default);
        var high = state.WaitForWindowAsync(1, 0, 1, RequestPriority.High, 10, TimeSpan.FromSeconds(10), default);
        Assert.Equal(3, state.WaitingForWindow);
        // Nobody jumps the queue, even into a window with room.
        Assert.True(state.WindowFull(1, 0, 1, Stopwatch.GetTimestamp()));

        var order = new List<RequestPriority>();
        var pending = new Dictionary<Task<QueueRefusal>, RequestPriority> { [low] = RequestPriority.Low, [normal] = RequestPriority.Normal, [high] = RequestPriority.High };
        while (pending.Count > 0)
        {
            var done = await Task.WhenAny(pending.Keys).WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(QueueRefusal.None, await done);
            order.Add(pending[done]);
            pending.Remove(done);
        }
        Assert.Equal([RequestPriority.High, RequestPriority.Normal, RequestPriority.Low], order);
        Assert.Equal(0, state.WaitingForWindow);
    }

    [Fact]
    public async Task RateWindow_TokensDecideHowManyWaitersAWindowTakes()
    {
        var state = new DeploymentState(TimeSpan.FromSeconds(1)); // long enough that the check below runs before the next turn
        Assert.Equal(WindowLimit.None, state.TryCountRequest(0, 1000, 1000, Stopwatch.GetTimestamp(), out _));
        var waiters = Enumerable.Range(0, 3).Select(_ => state.WaitForWindowAsync(0, 1000, 400, RequestPriority.Normal, 10, TimeSpan.FromSeconds(10), default)).ToArray();
        // The next window holds two of 400 tokens in 1000, the third waits one more turn.
        await Task.WhenAll(waiters[0], waiters[1]).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(waiters[2].IsCompleted);
        Assert.Equal(QueueRefusal.None, await waiters[2].WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task RateWindow_AWaiterPastItsWaitGivesUp()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var state = new DeploymentState(TimeSpan.FromSeconds(30), time);
        Assert.Equal(WindowLimit.None, state.TryCountRequest(1, 0, 1, time.GetTimestamp(), out _));
        var waiting = state.WaitForWindowAsync(1, 0, 1, RequestPriority.High, 10, TimeSpan.FromSeconds(10), default);
        time.Advance(TimeSpan.FromSeconds(9.999));
        Assert.False(waiting.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(QueueRefusal.TimedOut, await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, state.WaitingForWindow);
        Assert.Equal(TimeSpan.FromSeconds(20), state.UntilWindowTurn(time.GetTimestamp()));
    }

    [Fact]
    public async Task NoLimit_NeverQueues()
    {
        var state = new DeploymentState();
        for (int i = 0; i < 100; i++) Assert.Equal(QueueRefusal.None, await state.AcquireAsync(0, RequestPriority.Low, 0, Wait, default));
        Assert.Equal(100, state.InFlight);
    }
}
