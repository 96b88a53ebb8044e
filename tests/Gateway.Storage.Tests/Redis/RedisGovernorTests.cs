using Gateway.Core.Governance;
using Gateway.Storage.Redis;
using Gateway.Tests.Shared;

namespace Gateway.Storage.Tests.Redis;

/// <summary>Limits and budgets on a real Redis, shared by "replicas" that are separate connections with nothing in common but the server.</summary>
public sealed class RedisGovernorTests : IDisposable
{
    private readonly string _cluster = Guid.NewGuid().ToString("N");
    private readonly List<RedisConnection> _connections = [];

    private RedisGovernor Replica(TimeSpan? lifetime = null)
    {
        var connection = RedisConnection.Open(TestServers.RedisUrl, _cluster);
        _connections.Add(connection);
        return new RedisGovernor(connection, lifetime);
    }

    public void Dispose()
    {
        foreach (var connection in _connections) connection.Dispose();
    }

    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static GovernedScope Scope(string id, int rpm = 0, int tpm = 0, long? budgetNanos = null) =>
        new("key", id, new RateLimits(rpm, tpm), budgetNanos is { } b ? new Budget(b, BudgetPeriod.Day) : null, new ScopeCounters("key", id));

    [Fact]
    public async Task ThreeReplicas_EnforceOneRpm_AndSayWhatIsLeft()
    {
        var replicas = new[] { Replica(), Replica(), Replica() };
        var scope = Scope("rpm", rpm: 5);
        // A minute rolling over mid-test would start a new window: start early in one.
        if (DateTime.UtcNow.Second >= 55) await Task.Delay(TimeSpan.FromSeconds(61 - DateTime.UtcNow.Second));
        var answers = new List<SharedAdmission>();
        for (int i = 0; i < 9; i++) answers.Add(await replicas[i % 3].AdmitAsync([scope], 0, 0, Now));
        Assert.Equal(5, answers.Count(a => a.Admission.Allowed));
        Assert.All(answers.Skip(5), a => Assert.Equal(AdmissionResult.RateLimited, a.Admission.Result));
        Assert.Equal([4, 3, 2, 1, 0], answers.Take(5).Select(a => a.Admission.RemainingRequests));
        Assert.Equal((5, 0), (answers[^1].Admission.LimitRequests, answers[^1].Admission.RemainingRequests));
        Assert.InRange(answers[^1].Admission.ResetRequestsMs, 0, 60_000);
    }

    [Fact]
    public async Task ABudget_IsSeededOnce_ThenReservesWorstCases_AndSettlesToWhatWasSpent()
    {
        var (a, b) = (Replica(), Replica());
        const long worst = 1_000_000;
        var scope = Scope("budget", budgetNanos: 3 * worst);
        var first = await a.AdmitAsync([scope], 0, worst, Now);
        Assert.Same(scope, first.Unseeded);
        await a.SeedAsync(scope, Budget.PeriodStart(BudgetPeriod.Day, Now), 0, Now);
        await b.SeedAsync(scope, Budget.PeriodStart(BudgetPeriod.Day, Now), 999_999_999, Now); // already seeded: not overwritten

        var five = await Task.WhenAll(Enumerable.Range(0, 5).Select(i => (i % 2 == 0 ? a : b).AdmitAsync([scope], 0, worst, Now).AsTask()));
        var held = five.Where(r => r.Admission.Allowed).Select(r => r.Reservation).ToList();
        Assert.Equal(3, held.Count);
        Assert.All(five.Where(r => !r.Admission.Allowed), r => Assert.Equal(AdmissionResult.OverBudget, r.Admission.Result));
        Assert.All(held, r => Assert.NotNull(r.SharedId));

        await a.SettleAsync(held[0], null, worst / 2, Now);          // spent 0.5, reserved 2: 3.5 with another worst case
        Assert.False((await b.AdmitAsync([scope], 0, worst, Now)).Admission.Allowed);
        await b.SettleAsync(held[1], null, 0, Now);                  // spent 0.5, reserved 1: 2.5 with another
        var fourth = await a.AdmitAsync([scope], 0, worst, Now);
        Assert.True(fourth.Admission.Allowed);
        await a.SettleAsync(fourth.Reservation, null, 0, Now);
        await a.SettleAsync(held[1], null, 0, Now);                  // settling twice releases nothing twice
        Assert.False((await b.AdmitAsync([scope], 0, 2 * worst, Now)).Admission.Allowed);
    }

    [Fact]
    public async Task AReservationWhoseReplicaDied_IsReleasedWhenItExpires()
    {
        var dies = Replica(TimeSpan.FromMilliseconds(300));
        var lives = Replica();
        var scope = Scope("expiry", budgetNanos: 1000);
        await lives.SeedAsync(scope, Budget.PeriodStart(BudgetPeriod.Day, Now), 0, Now);
        Assert.True((await dies.AdmitAsync([scope], 0, 1000, Now)).Admission.Allowed); // never settled
        Assert.Equal(AdmissionResult.OverBudget, (await lives.AdmitAsync([scope], 0, 1, Now)).Admission.Result);
        await Task.Delay(500);
        Assert.True((await lives.AdmitAsync([scope], 0, 1000, Now)).Admission.Allowed);
    }

    [Fact]
    public async Task Tokens_AreReservedThenSettledToWhatWasUsed_AndEveryScopeCountsOrNone()
    {
        var replica = Replica();
        if (DateTime.UtcNow.Second >= 55) await Task.Delay(TimeSpan.FromSeconds(61 - DateTime.UtcNow.Second));
        var key = Scope("tokens", tpm: 100);
        var team = new GovernedScope("team", "tokens-team", new RateLimits(2, 0), null, new ScopeCounters("team", "tokens-team"));
        var first = await replica.AdmitAsync([key, team], 60, 0, Now);
        Assert.True(first.Admission.Allowed);
        Assert.Equal((AdmissionResult.RateLimited, true), ((await replica.AdmitAsync([key, team], 60, 0, Now)).Admission is var a ? (a.Result, a.ByTokens) : default));
        Assert.Equal(AdmissionResult.TooLarge, (await replica.AdmitAsync([key, team], 101, 0, Now)).Admission.Result);
        await replica.SettleAsync(first.Reservation, 10, 0, Now);
        Assert.True((await replica.AdmitAsync([key, team], 60, 0, Now)).Admission.Allowed);
        // The team's rpm of 2 is now used up: the key's tokens are not counted for a refused request.
        var refused = await replica.AdmitAsync([key, team], 10, 0, Now);
        Assert.Equal((AdmissionResult.RateLimited, "team"), (refused.Admission.Result, refused.Admission.By!.Scope));
        Assert.True((await replica.AdmitAsync([key], 30, 0, Now)).Admission.Allowed); // 10 + 60 + 30 = 100: the refused 10 were not counted
    }

    [Fact]
    public async Task AnUnreachableRedis_FailsFast_WithSharedStoreException()
    {
        using var away = RedisConnection.Open("redis://127.0.0.1:1", _cluster);
        var governor = new RedisGovernor(away);
        var started = DateTime.UtcNow;
        await Assert.ThrowsAsync<SharedStoreException>(() => governor.AdmitAsync([Scope("away", rpm: 1)], 0, 0, Now).AsTask());
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5));
    }
}
