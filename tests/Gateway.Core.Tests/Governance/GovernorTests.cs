using Gateway.Core.Governance;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Core.Tests.Governance;

public class GovernorTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 10, 0, 5, TimeSpan.Zero);
    private const long Usd = Budget.NanosPerUsd;

    private static (Governor Governor, FakeTimeProvider Time) Make()
    {
        var time = new FakeTimeProvider(Start);
        return (new Governor(time), time);
    }

    private static GovernedScope Scope(Governor governor, string id, int rpm = 0, int tpm = 0, Budget? budget = null, string scope = "key") =>
        new(scope, id, new RateLimits(rpm, tpm), budget, governor.Counters(scope, id));

    [Fact]
    public void Rpm_AllowsExactlyN_UnderConcurrency_ThenRefusesUntilTheMinuteTurns()
    {
        var (governor, time) = Make();
        GovernedScope[] scopes = [Scope(governor, "k", rpm: 100)];
        int allowed = 0;
        Parallel.For(0, 1000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            if (governor.Admit(scopes, 0, 0, out _).Allowed) Interlocked.Increment(ref allowed);
        });
        Assert.Equal(100, allowed);
        var refused = governor.Admit(scopes, 0, 0, out var none);
        Assert.Equal(AdmissionResult.RateLimited, refused.Result);
        Assert.True(none.IsEmpty);
        Assert.Equal((100, 0, 55_000L), (refused.LimitRequests, refused.RemainingRequests, refused.ResetRequestsMs));
        time.Advance(TimeSpan.FromSeconds(55));
        var next = governor.Admit(scopes, 0, 0, out _);
        Assert.True(next.Allowed);
        Assert.Equal(99, next.RemainingRequests);
    }

    [Fact]
    public void EveryLevelMustPass_AndARefusalCountsNothingAnywhere()
    {
        var (governor, _) = Make();
        var key = Scope(governor, "k", rpm: 10);
        var team = Scope(governor, "t", rpm: 2, scope: "team");
        GovernedScope[] scopes = [key, team];
        Assert.True(governor.Admit(scopes, 0, 0, out _).Allowed);
        Assert.True(governor.Admit(scopes, 0, 0, out _).Allowed);
        var third = governor.Admit(scopes, 0, 0, out _);
        Assert.Equal(AdmissionResult.RateLimited, third.Result);
        Assert.Same(team, third.By);
        // The headers speak for the tightest level: the team, with nothing left.
        Assert.Equal((2, 0), (third.LimitRequests, third.RemainingRequests));
        // The key alone still has 8: the refused request was not counted against it.
        var keyAlone = governor.Admit([key], 0, 0, out _);
        Assert.Equal(7, keyAlone.RemainingRequests);
    }

    [Fact]
    public void Tpm_ReservesTheEstimate_AndSettlesToTheRealCount()
    {
        var (governor, _) = Make();
        GovernedScope[] scopes = [Scope(governor, "k", tpm: 1000)];
        Assert.True(governor.Admit(scopes, 600, 0, out var first).Allowed);
        Assert.Equal(AdmissionResult.RateLimited, governor.Admit(scopes, 600, 0, out _).Result);
        governor.Settle(first, tokens: 100, costNanos: 0);
        var second = governor.Admit(scopes, 600, 0, out _);
        Assert.True(second.Allowed);
        Assert.Equal(300, second.RemainingTokens);
        var tooLarge = governor.Admit(scopes, 1001, 0, out _);
        Assert.Equal(AdmissionResult.TooLarge, tooLarge.Result);
        Assert.True(tooLarge.ByTokens);
    }

    [Fact]
    public void BudgetRace_50ConcurrentWorstCasesAgainstABudgetOf10_AdmitsExactly10()
    {
        var (governor, _) = Make();
        GovernedScope[] scopes = [Scope(governor, "k", budget: new Budget(10 * Usd, BudgetPeriod.Lifetime))];
        var reservations = new System.Collections.Concurrent.ConcurrentBag<Reservation>();
        int refused = 0;
        Parallel.For(0, 50, new ParallelOptions { MaxDegreeOfParallelism = 16 }, i =>
        {
            var admission = governor.Admit(scopes, 10, 1 * Usd, out var reservation);
            if (admission.Allowed) reservations.Add(reservation);
            else if (admission.Result == AdmissionResult.OverBudget) Interlocked.Increment(ref refused);
        });
        Assert.Equal(10, reservations.Count);
        Assert.Equal(40, refused);
        // Each settles at its worst case: the budget is spent exactly, and nothing more gets in.
        foreach (var reservation in reservations) governor.Settle(reservation, 10, 1 * Usd);
        Assert.Equal(10 * Usd, scopes[0].Counters.SpentNanos("key", governor, scopes[0].Budget!));
        Assert.Equal(AdmissionResult.OverBudget, governor.Admit(scopes, 10, 0, out _).Result);
    }

    [Fact]
    public void Settling_BelowTheWorstCase_GivesTheRestBack()
    {
        var (governor, _) = Make();
        GovernedScope[] scopes = [Scope(governor, "k", budget: new Budget(3 * Usd, BudgetPeriod.Lifetime))];
        Assert.True(governor.Admit(scopes, 0, 2 * Usd, out var first).Allowed);
        Assert.False(governor.Admit(scopes, 0, 2 * Usd, out _).Allowed);
        governor.Settle(first, 0, Usd / 2);
        Assert.True(governor.Admit(scopes, 0, 2 * Usd, out var second).Allowed);
        // Unknown usage (a client gone mid-stream): the reservation stands as spent.
        governor.Settle(second, null, null);
        Assert.Equal(Usd / 2 + 2 * Usd, scopes[0].Counters.SpentNanos("key", governor, scopes[0].Budget!));
        Assert.Equal(0, scopes[0].Counters.ReservedNanos);
    }

    [Fact]
    public void ADailyBudget_StartsAgainAtUtcMidnight_AndAlertsOncePerPeriod()
    {
        var logs = new List<string>();
        var time = new FakeTimeProvider(Start);
        var governor = new Governor(time, new ListLogger(logs));
        GovernedScope[] scopes = [Scope(governor, "k", budget: new Budget(10 * Usd, BudgetPeriod.Day, AlertAt: 0.5))];
        for (int i = 0; i < 10; i++)
        {
            Assert.True(governor.Admit(scopes, 0, Usd, out var r).Allowed);
            governor.Settle(r, 0, Usd);
        }
        Assert.Single(logs); // crossed 50% once, said once
        Assert.Equal(AdmissionResult.OverBudget, governor.Admit(scopes, 0, 0, out _).Result);
        time.SetUtcNow(new DateTimeOffset(2026, 12, 2, 0, 0, 0, TimeSpan.Zero));
        Assert.True(governor.Admit(scopes, 0, Usd, out _).Allowed);
    }

    [Fact]
    public void StoredSpend_CountsWhenItsPeriodIsEntered_AndUnflushedSpendIsTakenOnce()
    {
        var (governor, _) = Make();
        long today = Budget.PeriodStart(BudgetPeriod.Day, Start.ToUnixTimeMilliseconds());
        governor.Load([new SpendRow("key", "k", today, 9 * Usd), new SpendRow("key", "k", today - 86_400_000, 5 * Usd)]);
        GovernedScope[] scopes = [Scope(governor, "k", budget: new Budget(10 * Usd, BudgetPeriod.Day))];
        Assert.False(governor.Admit(scopes, 0, 2 * Usd, out _).Allowed);
        Assert.True(governor.Admit(scopes, 0, Usd, out var r).Allowed);
        governor.Settle(r, 0, Usd / 4);
        Assert.Equal([new SpendRow("key", "k", today, Usd / 4)], governor.TakeUnflushed());
        Assert.Empty(governor.TakeUnflushed());
    }

    [Theory]
    [InlineData(BudgetPeriod.Minute, "2026-12-02T13:47:00Z", "2026-12-02T13:48:00Z")]
    [InlineData(BudgetPeriod.Hour, "2026-12-02T13:00:00Z", "2026-12-02T14:00:00Z")]
    [InlineData(BudgetPeriod.Day, "2026-12-02T00:00:00Z", "2026-12-03T00:00:00Z")]
    [InlineData(BudgetPeriod.Week, "2026-11-30T00:00:00Z", "2026-12-07T00:00:00Z")] // a Monday
    [InlineData(BudgetPeriod.Month, "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z")]
    public void Periods_AreAlignedToUtc(BudgetPeriod period, string start, string end)
    {
        long at = DateTimeOffset.Parse("2026-12-02T13:47:31.5Z", System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();
        Assert.Equal(DateTimeOffset.Parse(start, System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds(), Budget.PeriodStart(period, at));
        Assert.Equal(DateTimeOffset.Parse(end, System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds(), Budget.PeriodEnd(period, at));
    }

    private sealed class ListLogger(List<string> lines) : Microsoft.Extensions.Logging.ILogger<Governor>
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;
        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter) => lines.Add(formatter(state, exception));
    }
}

internal static class CountersExtensions
{
    public static long SpentNanos(this ScopeCounters counters, string scope, Governor governor, Budget budget) => governor.SpentNanos(scope, counters.Id, budget);
}
