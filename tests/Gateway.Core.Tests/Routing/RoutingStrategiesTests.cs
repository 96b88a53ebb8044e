using System.Diagnostics;
using Gateway.Core.Auth;
using Gateway.Core.Config;
using Gateway.Core.Providers;
using Gateway.Core.Routing;

namespace Gateway.Core.Tests.Routing;

public class RoutingStrategiesTests
{
    private sealed class NoProvider(string name) : IProvider
    {
        public string Name { get; } = name;
        public ProviderConfig Config { get; } = new() { Name = name, Type = "mock" };
        public ValueTask<UpstreamResult> SendAsync(ProviderCall call, CancellationToken cancellationToken) => throw new NotSupportedException();
        public ValueTask<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    private static DeploymentGroup Group(RoutingStrategy strategy, params DeploymentConfig[] deployments)
    {
        var states = new DeploymentStates();
        var config = new ModelGroupConfig("g", deployments) { Strategy = strategy };
        return new DeploymentGroup(config, [.. deployments.Select(d => new Deployment(new RouteTarget(new NoProvider(d.Provider), d.Model), d, states.Get(d.Provider, d.Model)))]);
    }

    private static int[] Count(DeploymentGroup group, int picks, RoutingRequest request = default)
    {
        var counts = new int[group.Deployments.Length];
        for (int i = 0; i < picks; i++) counts[group.Pick(0, request)]++;
        return counts;
    }

    [Fact]
    public void Weighted_SplitsInProportion_Over10000Picks()
    {
        var counts = Count(Group(RoutingStrategy.Weighted, new("a", "x", 3), new("b", "y", 1)), 10_000);
        // 7500 expected; 5 standard deviations (about 43 each) either side.
        Assert.InRange(counts[0], 7500 - 220, 7500 + 220);
    }

    [Fact]
    public void RoundRobin_TakesTurns()
    {
        var group = Group(RoutingStrategy.RoundRobin, new("a", "x", 1), new("b", "y", 1), new("c", "z", 1));
        var picks = Enumerable.Range(0, 6).Select(_ => group.Pick(0, default)).ToArray();
        Assert.Equal(picks[..3].Order(), [0, 1, 2]);
        Assert.Equal(picks[..3], picks[3..]);
    }

    [Fact]
    public void LeastBusy_PicksTheFewestInFlight()
    {
        var group = Group(RoutingStrategy.LeastBusy, new("a", "x", 1), new("b", "y", 1), new("c", "z", 1));
        group.Deployments[0].State.Started();
        group.Deployments[0].State.Started();
        group.Deployments[2].State.Started();
        Assert.All(Enumerable.Range(0, 50), _ => Assert.Equal(1, group.Pick(0, default)));
    }

    [Fact]
    public void LowestLatency_MovesTrafficAwayFromASlowedDeployment()
    {
        var group = Group(RoutingStrategy.LowestLatency, new("a", "x", 1), new("b", "y", 1), new("c", "z", 1));
        long now = Stopwatch.GetTimestamp();
        foreach (var d in group.Deployments) { d.State.Started(); d.State.Finished(true, Stopwatch.Frequency / 100, now); } // 10 ms each
        for (int i = 0; i < 5; i++) { group.Deployments[1].State.Started(); group.Deployments[1].State.Finished(true, Stopwatch.Frequency, now); } // b slows to ~1 s
        var counts = Count(group, 3000);
        // Power of two choices: b wins only a draw of itself twice, which cannot happen; it gets almost nothing.
        Assert.True(counts[1] < 60, $"slowed deployment still got {counts[1]} of 3000");
        Assert.InRange(counts[0], 1200, 1800);
    }

    [Fact]
    public void LowestCost_PicksTheCheapestForThisRequest()
    {
        var group = Group(RoutingStrategy.LowestCost,
            new("a", "x", 1) { InputPrice = 3, OutputPrice = 15 },
            new("b", "y", 1) { InputPrice = 0.15, OutputPrice = 0.6 },
            new("c", "z", 1) { InputPrice = 0.1, OutputPrice = 4 });
        // Long prompt, short answer: input price decides. Short prompt, long answer: output price decides.
        Assert.Equal(2, group.Pick(0, new RoutingRequest(100_000, 10)));
        Assert.Equal(1, group.Pick(0, new RoutingRequest(10, 10_000)));
    }

    [Fact]
    public void Pick_SkipsTriedAndOpen_UntilNothingElseIsLeft()
    {
        var group = Group(RoutingStrategy.Weighted, new("a", "x", 1), new("b", "y", 1));
        long now = Stopwatch.GetTimestamp();
        for (int i = 0; i < DeploymentState.FailuresToOpen; i++) { group.Deployments[0].State.Started(); group.Deployments[0].State.Finished(false, 0, now); }
        Assert.True(group.Deployments[0].State.IsOpen);
        Assert.All(Enumerable.Range(0, 50), _ => Assert.Equal(1, group.Pick(0, default)));
        // b tried, a open and cooling down: nothing to pick until the cool-down is over.
        Assert.Equal(-1, group.Pick(0b10, default));
        Assert.True(group.EarliestProbe(0) > now);
    }

    [Fact]
    public void Breaker_OneProbeAfterTheCoolDown_SuccessCloses_FailureReopensForLonger()
    {
        var state = new DeploymentState();
        long now = Stopwatch.GetTimestamp();
        for (int i = 0; i < DeploymentState.FailuresToOpen; i++) { state.Started(); state.Finished(false, 0, now); }
        long firstUntil = state.OpenUntil;
        Assert.False(state.TryProbe(now));
        long later = firstUntil + 1;
        Assert.True(state.TryProbe(later));
        Assert.False(state.TryProbe(later)); // one probe at a time
        state.Started();
        state.Finished(false, 0, later);
        Assert.True(state.OpenUntil > firstUntil); // the cool-down only ever extends
        Assert.True(state.TryProbe(state.OpenUntil));
        state.Started();
        state.Finished(true, 100, state.OpenUntil);
        Assert.False(state.IsOpen);
        Assert.Equal(0, state.ConsecutiveFailures);
    }

    private static readonly BreakerConfig Ratio = new() { Failures = 1000, FailureRatio = 0.5, MinimumCalls = 10, Window = TimeSpan.FromSeconds(10), CoolDown = TimeSpan.FromSeconds(5) };

    private static void Call(DeploymentState state, bool success, long now, BreakerConfig breaker)
    {
        state.Started();
        state.Finished(success, 100, now, breaker);
    }

    [Fact]
    public void RatioBreaker_OpensWhenTheWindowsShareOfFailuresIsReached_NotBeforeTheMinimumCalls()
    {
        var state = new DeploymentState();
        long now = Stopwatch.GetTimestamp();
        // Alternating: never two failures in a row, so only the ratio can open it.
        for (int i = 0; i < 4; i++) { Call(state, true, now, Ratio); Call(state, false, now, Ratio); }
        Assert.False(state.IsOpen); // 4 of 8: too few calls to judge
        Call(state, true, now, Ratio);
        Assert.False(state.IsOpen); // 4 of 9
        Call(state, false, now, Ratio);
        Assert.True(state.IsOpen); // 5 of 10
        Assert.Equal(1, state.ConsecutiveFailures);
        Assert.InRange(Stopwatch.GetElapsedTime(now, state.OpenUntil).TotalSeconds, 4.9, 5.1);
    }

    [Fact]
    public void RatioBreaker_BelowTheRatio_StaysClosed()
    {
        var state = new DeploymentState();
        long now = Stopwatch.GetTimestamp();
        for (int i = 0; i < 100; i++) Call(state, i % 3 != 0, now, Ratio); // a third fail
        Assert.False(state.IsOpen);
        Assert.Equal((100, 34), state.WindowHealth(now, Ratio));
    }

    [Fact]
    public void RatioBreaker_OldCallsAgeOutOfTheWindow()
    {
        var state = new DeploymentState();
        long now = Stopwatch.GetTimestamp();
        for (int i = 0; i < 9; i++) Call(state, false, now, Ratio with { Failures = 1000 });
        Assert.Equal((9, 9), state.WindowHealth(now, Ratio));
        long later = now + Stopwatch.Frequency * 11; // past the 10 s window
        Assert.Equal((0, 0), state.WindowHealth(later, Ratio));
        Call(state, false, later, Ratio);
        Assert.False(state.IsOpen); // one failure in the new window, not ten
        // Half a window on: the older half is still counted.
        long mid = later + Stopwatch.Frequency * 5;
        for (int i = 0; i < 8; i++) Call(state, true, mid, Ratio);
        Assert.Equal((9, 1), state.WindowHealth(mid, Ratio));
    }

    [Fact]
    public void RatioBreaker_AProbesSuccessStartsTheWindowAfresh()
    {
        var state = new DeploymentState();
        long now = Stopwatch.GetTimestamp();
        for (int i = 0; i < 10; i++) Call(state, i % 2 == 0, now, Ratio);
        Assert.True(state.IsOpen);
        long ready = state.OpenUntil;
        Assert.True(state.TryProbe(ready));
        Call(state, true, ready, Ratio);
        Assert.False(state.IsOpen);
        Assert.Equal((0, 0), state.WindowHealth(ready, Ratio));
        Call(state, false, ready, Ratio);
        Assert.False(state.IsOpen); // the failures that opened it do not count again
    }

    [Fact]
    public void Breaker_AProbeClaimNobodySettles_ExpiresOnlyAfterAnyCallWouldHaveEnded()
    {
        var state = new DeploymentState();
        long now = Stopwatch.GetTimestamp();
        for (int i = 0; i < DeploymentState.FailuresToOpen; i++) { state.Started(); state.Finished(false, 0, now); }
        long ready = state.OpenUntil;
        Assert.True(state.TryProbe(ready));
        // A probe still running after a minute is not joined by a second one.
        Assert.False(state.TryProbe(ready + Stopwatch.Frequency * 60));
        Assert.True(state.TryProbe(ready + (long)(DeploymentState.ProbeClaimExpiry.TotalSeconds * Stopwatch.Frequency) + 1));
    }

    [Fact]
    public void Breaker_AProbePickedButNotSent_GivesItsClaimUpAtOnce()
    {
        var state = new DeploymentState();
        long now = Stopwatch.GetTimestamp();
        for (int i = 0; i < DeploymentState.FailuresToOpen; i++) { state.Started(); state.Finished(false, 0, now); }
        long ready = state.OpenUntil;
        Assert.True(state.TryProbe(ready));
        state.NotSent(); // refused by the deployment's queue
        Assert.True(state.TryProbe(ready + 1));
        state.Started();
        state.Abandoned(); // the client left
        Assert.True(state.TryProbe(ready + 2));
        Assert.Equal(0, state.InFlight);
    }

    [Fact]
    public void RestFor_NeverShortensARunningCoolDown()
    {
        var state = new DeploymentState();
        long now = Stopwatch.GetTimestamp();
        state.RestFor(TimeSpan.FromSeconds(10), now);
        long until = state.OpenUntil;
        state.RestFor(TimeSpan.FromSeconds(1), now);
        Assert.Equal(until, state.OpenUntil);
    }

    [Fact]
    public void CapabilityFilters_OnlyDeploymentsThatCanServeThePick()
    {
        var group = Group(RoutingStrategy.RoundRobin,
            new("a", "text-only", 1) { Capabilities = ModelCapabilities.None, ContextWindow = 8_000 },
            new("b", "vision", 1) { Capabilities = ModelCapabilities.Vision | ModelCapabilities.Tools, ContextWindow = 128_000 },
            new("c", "anything", 1));
        var image = RoutingRequest.For("""{"model":"g","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x"}}]}]}"""u8);
        Assert.Equal(ModelCapabilities.Vision, image.Needs);
        Assert.All(Enumerable.Range(0, 20), _ => Assert.NotEqual(0, group.Pick(0, image)));
        var huge = new RoutingRequest(50_000, 256);
        Assert.All(Enumerable.Range(0, 20), _ => Assert.NotEqual(0, group.Pick(0, huge)));
        var schema = RoutingRequest.For("""{"model":"g","messages":[],"response_format":{"type":"json_schema","json_schema":{"name":"x"}}}"""u8);
        Assert.All(Enumerable.Range(0, 20), _ => Assert.Equal(2, group.Pick(0, schema)));
        var onlyText = Group(RoutingStrategy.Weighted, new DeploymentConfig("a", "text-only", 1) { Capabilities = ModelCapabilities.None });
        Assert.Equal(DeploymentGroup.NoneCapable, onlyText.Pick(0, image));
    }

    [Fact]
    public void RetryBudget_StopsRetriesBeyondItsShare()
    {
        var budget = new RetryBudget(retriesPerRequest: 0.1, minimum: 2, maximum: 5);
        Assert.True(budget.TryWithdraw());
        Assert.True(budget.TryWithdraw());
        Assert.False(budget.TryWithdraw());
        for (int i = 0; i < 11; i++) budget.Deposit(); // 1.1 retries earned
        Assert.True(budget.TryWithdraw());
        Assert.False(budget.TryWithdraw());
    }

    [Theory]
    [InlineData("2", 2.0)]
    [InlineData("0.5", 0.5)]
    public void RetryAfter_Seconds(string value, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), Resilience.RetryAfter(new Gateway.Core.Errors.GatewayError(429, "t", "c", "m", Gateway.Core.Errors.ErrorSource.Upstream)
        { Headers = [KeyValuePair.Create("retry-after", value)] }, DateTimeOffset.UtcNow));
}
