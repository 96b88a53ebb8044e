using Gateway.Core.Providers;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Core.Tests.Providers;

public class UpstreamDeadlineTests
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(10);

    [Fact]
    public void Idle_DataWithinTheLimitKeepsTheStreamAlive_SilenceEndsIt()
    {
        var time = new FakeTimeProvider();
        using var deadline = new UpstreamDeadline(Long, Long, CancellationToken.None, time, idle: TimeSpan.FromMilliseconds(200));
        deadline.DataReceived(); // the first event: the idle watch starts
        for (int i = 0; i < 10; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(150));
            deadline.DataReceived();
        }
        Assert.False(deadline.Token.IsCancellationRequested); // 1.5 s of stream, never 200 ms quiet
        time.Advance(TimeSpan.FromMilliseconds(199));
        Assert.False(deadline.Token.IsCancellationRequested);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(deadline.Token.IsCancellationRequested);
        Assert.Equal(DeadlineLimit.Idle, deadline.ExpiredLimit);
        Assert.Equal(TimeSpan.FromMilliseconds(200), deadline.Expired);
        Assert.False(deadline.ExpiredBeforeFirstByte);
    }

    [Fact]
    public void Idle_DoesNotRunBeforeTheFirstByte()
    {
        var time = new FakeTimeProvider();
        using var deadline = new UpstreamDeadline(Long, Long, CancellationToken.None, time, idle: TimeSpan.FromMilliseconds(100));
        time.Advance(TimeSpan.FromSeconds(5)); // waiting for the first byte is the first-byte limit's business
        Assert.False(deadline.Token.IsCancellationRequested);
        Assert.Equal(DeadlineLimit.None, deadline.ExpiredLimit);
    }

    [Fact]
    public void NoIdle_SilenceIsOnlyBoundByTheTotal()
    {
        var time = new FakeTimeProvider();
        using var deadline = new UpstreamDeadline(Long, Long, CancellationToken.None, time);
        deadline.DataReceived();
        time.Advance(TimeSpan.FromMinutes(5));
        Assert.False(deadline.Token.IsCancellationRequested);
        Assert.Equal(TimeSpan.Zero, deadline.Idle);
    }

    [Fact]
    public void ClientLeaving_IsNotATimeout()
    {
        using var client = new CancellationTokenSource();
        var time = new FakeTimeProvider();
        using var deadline = new UpstreamDeadline(Long, Long, client.Token, time, idle: TimeSpan.FromMilliseconds(100));
        deadline.DataReceived();
        client.Cancel();
        Assert.True(deadline.Token.IsCancellationRequested);
        Assert.Equal(DeadlineLimit.None, deadline.ExpiredLimit);
        Assert.True(deadline.ClientGone);
    }

    [Fact]
    public void Dispose_StopsTheIdleWatch()
    {
        var time = new FakeTimeProvider();
        var deadline = new UpstreamDeadline(Long, Long, CancellationToken.None, time, idle: TimeSpan.FromMilliseconds(100));
        deadline.DataReceived();
        deadline.Dispose();
        // A timer left running would fire here (FakeTimeProvider runs it inline) and mark the call idle,
        // or throw on the disposed token source.
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(DeadlineLimit.None, deadline.ExpiredLimit);
        Assert.Null(deadline.Expired);
    }

    [Fact]
    public void FirstByte_ExpiresAtItsLimit_AndSaysSo()
    {
        var time = new FakeTimeProvider();
        using var deadline = new UpstreamDeadline(TimeSpan.FromMilliseconds(50), Long, CancellationToken.None, time);
        time.Advance(TimeSpan.FromMilliseconds(49));
        Assert.False(deadline.Token.IsCancellationRequested);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(deadline.Token.IsCancellationRequested);
        Assert.Equal(DeadlineLimit.FirstByte, deadline.ExpiredLimit);
        Assert.True(deadline.ExpiredBeforeFirstByte);
    }

    [Fact]
    public void Total_ExpiresAfterTheFirstByte()
    {
        var time = new FakeTimeProvider();
        using var deadline = new UpstreamDeadline(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(500), CancellationToken.None, time);
        time.Advance(TimeSpan.FromMilliseconds(10));
        deadline.DataReceived(); // the first byte: the rest of the total applies
        time.Advance(TimeSpan.FromMilliseconds(489));
        Assert.False(deadline.Token.IsCancellationRequested);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(deadline.Token.IsCancellationRequested);
        Assert.Equal(DeadlineLimit.Total, deadline.ExpiredLimit);
        Assert.False(deadline.ExpiredBeforeFirstByte);
    }
}
