using Gateway.Core.Config;
using Gateway.Core.Providers;
using Gateway.Core.Routing;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Core.Tests.Routing;

/// <summary>Routing reads the clock and draws chances only through what it is given: a fake clock and a fixed draw decide exactly.</summary>
public class InjectedTimeAndChanceTests
{
    private sealed class NoProvider(string name) : IProvider
    {
        public string Name { get; } = name;
        public ProviderConfig Config { get; } = new() { Name = name, Type = "mock" };
        public ValueTask<UpstreamResult> SendAsync(ProviderCall call, CancellationToken cancellationToken) => throw new NotSupportedException();
        public ValueTask<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    /// <summary>Always draws the same: the given integer (within the bound) and the given fraction.</summary>
    private sealed class FixedRandom(long value, double fraction = 0) : Random
    {
        public override int Next(int maxValue) => (int)(value % maxValue);
        public override long NextInt64(long maxValue) => value % maxValue;
        public override double NextDouble() => fraction;
    }

    private static DeploymentGroup Group(TimeProvider time, Random random, RoutingStrategy strategy, BreakerConfig? breaker, params DeploymentConfig[] deployments)
    {
        var states = new DeploymentStates(time);
        var config = new ModelGroupConfig("g", deployments) { Strategy = strategy, Breaker = breaker ?? BreakerConfig.Default };
        return new DeploymentGroup(config, [.. deployments.Select(d => new Deployment(new RouteTarget(new NoProvider(d.Provider), d.Model), d, states.Get(d.Provider, d.Model)))],
            time, random);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(2, 0)]
    [InlineData(3, 1)]
    public void Weighted_PicksWhereTheDrawFalls(long draw, int expected)
    {
        var group = Group(TimeProvider.System, new FixedRandom(draw), RoutingStrategy.Weighted, null, new("a", "x", 3), new("b", "y", 1));
        Assert.All(Enumerable.Range(0, 20), _ => Assert.Equal(expected, group.Pick(0, default)));
    }

    [Fact]
    public void Backoff_IsTheDrawnShareOfTheCap()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(100), Resilience.Backoff(3, new FixedRandom(0, 0.5))); // cap 200 ms on the third retry
        Assert.Equal(TimeSpan.FromMilliseconds(1000), Resilience.Backoff(20, new FixedRandom(0, 0.5))); // capped at 2 s
    }

    [Fact]
    public void OpenBreaker_TakesItsProbeExactlyWhenTheFakeClockPassesTheCoolDown()
    {
        var time = new FakeTimeProvider();
        var breaker = new BreakerConfig { Failures = 1, CoolDown = TimeSpan.FromSeconds(30) };
        var group = Group(time, new FixedRandom(0), RoutingStrategy.Weighted, breaker, new DeploymentConfig("a", "x", 1));
        var state = group.Deployments[0].State;
        state.Started();
        state.Finished(false, 0, time.GetTimestamp(), breaker);
        Assert.True(state.IsOpen);
        Assert.Equal(-1, group.Pick(0, default));
        time.Advance(TimeSpan.FromSeconds(29.999));
        Assert.Equal(-1, group.Pick(0, default));
        Assert.Equal(TimeSpan.FromMilliseconds(1), time.GetElapsedTime(time.GetTimestamp(), group.EarliestProbe(0)));
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, group.Pick(0, default)); // the probe
        Assert.Equal(-1, group.Pick(0, default)); // one probe at a time
    }

    [Fact]
    public async Task RateWindow_AWaiterIsCountedWhenTheFakeMinuteTurns()
    {
        var time = new FakeTimeProvider();
        var state = new DeploymentState(time);
        Assert.Equal(WindowLimit.None, state.TryCountRequest(1, 0, 1, time.GetTimestamp(), out _));
        Assert.Equal(WindowLimit.Requests, state.TryCountRequest(1, 0, 1, time.GetTimestamp(), out var untilTurn));
        Assert.Equal(TimeSpan.FromMinutes(1), untilTurn);
        var waiting = state.WaitForWindowAsync(1, 0, 1, RequestPriority.Normal, 10, TimeSpan.FromMinutes(5), default);
        time.Advance(TimeSpan.FromSeconds(59));
        Assert.False(waiting.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1.01));
        Assert.Equal(QueueRefusal.None, await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(TimeSpan.FromMinutes(1), state.UntilWindowTurn(time.GetTimestamp())); // its minute began when it was counted
    }
}
