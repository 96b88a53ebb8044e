using Gateway.Core.Governance;
using Gateway.Server.Governance;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Server.FunctionalTests.Scale;

/// <summary>The gate's own decisions around a shared governor (recorded by a stand-in of our interface; Redis itself is tested in RedisGovernorTests).</summary>
public sealed class GovernanceGateTests
{
    private sealed class Recording : ISharedGovernor
    {
        public int Admits, Settles, Seeds;
        public bool Down;
        public long SeededWith = -1;
        private bool _seeded;

        public ValueTask<SharedAdmission> AdmitAsync(GovernedScope[] scopes, long tokens, long worstCostNanos, long now)
        {
            if (Down) throw new SharedStoreException("down");
            Admits++;
            if (!_seeded && scopes.FirstOrDefault(s => s.Budget is not null) is { } unseeded) return ValueTask.FromResult(new SharedAdmission(default, default, unseeded));
            return ValueTask.FromResult(new SharedAdmission(new Admission(AdmissionResult.Allowed, null, false, -1, -1, -1, -1, -1, -1),
                new Reservation(scopes, 0, tokens, worstCostNanos, "r" + Admits)));
        }

        public ValueTask SeedAsync(GovernedScope scope, long periodStart, long spentNanos, long now)
        {
            Seeds++;
            SeededWith = spentNanos;
            _seeded = true;
            return default;
        }

        public ValueTask SettleAsync(Reservation reservation, long? tokens, long costNanos, long now)
        {
            Settles++;
            return default;
        }

        public ValueTask<(long Spent, long Reserved)?> SpendAsync(GovernedScope scope, long now) => ValueTask.FromResult<(long, long)?>(null);

        public ValueTask<bool> ChargeAsync(GovernedScope scope, long costNanos, long now) => ValueTask.FromResult(true);
    }

    private static GovernedScope Scope(int rpm = 0, int tpm = 0, Budget? budget = null) => new("key", "k", new RateLimits(rpm, tpm), budget, new ScopeCounters("key", "k"));

    [Fact]
    public async Task ARequestLimitAlone_SettlesWithoutASecondRoundTrip_ABudgetOrChangedTokensDo()
    {
        var shared = new Recording();
        var gate = new GovernanceGate(new Governor(TimeProvider.System), TimeProvider.System, NullLogger<GovernanceGate>.Instance, shared);
        var (_, rpmOnly) = await gate.AdmitAsync([Scope(rpm: 10)], 100, 0);
        await gate.SettleAsync(rpmOnly, 40, 0);
        Assert.Equal(0, shared.Settles);
        var (_, tokens) = await gate.AdmitAsync([Scope(tpm: 1000)], 100, 0);
        await gate.SettleAsync(tokens, 100, 0);   // used what it reserved: nothing to correct
        Assert.Equal(0, shared.Settles);
        await gate.SettleAsync(tokens, 40, 0);
        Assert.Equal(1, shared.Settles);
    }

    [Fact]
    public async Task ABudgetSeenFirst_IsSeededFromTheStore_ThenAdmitted()
    {
        var shared = new Recording();
        var store = new SpendStore(123);
        var gate = new GovernanceGate(new Governor(TimeProvider.System), TimeProvider.System, NullLogger<GovernanceGate>.Instance, shared, store);
        var (admission, reservation) = await gate.AdmitAsync([Scope(budget: new Budget(1000, BudgetPeriod.Day))], 10, 5);
        Assert.True(admission.Allowed);
        Assert.Equal(("r2", 1, 123L), (reservation.SharedId, shared.Seeds, shared.SeededWith));
        await gate.SettleAsync(reservation, 10, 5);
        Assert.Equal(1, shared.Settles);
    }

    [Fact]
    public async Task SharedStoreDown_BudgetsFailClosed_LimitsHoldThisReplicasShare_AndItRecovers()
    {
        var shared = new Recording { Down = true };
        var gate = new GovernanceGate(new Governor(TimeProvider.System), TimeProvider.System, NullLogger<GovernanceGate>.Instance, shared, replicas: () => 3);
        var (budget, _) = await gate.AdmitAsync([Scope(budget: new Budget(1000, BudgetPeriod.Day))], 10, 5);
        Assert.Equal(AdmissionResult.Unavailable, budget.Result);
        var rpm = Scope(rpm: 7);
        var results = new List<AdmissionResult>();
        for (int i = 0; i < 4; i++) results.Add((await gate.AdmitAsync([rpm], 0, 0)).Admission.Result);
        Assert.Equal([AdmissionResult.Allowed, AdmissionResult.Allowed, AdmissionResult.RateLimited, AdmissionResult.RateLimited], results); // 7 / 3 replicas = 2
        Assert.False(gate.SharedHealthy);
        shared.Down = false;
        Assert.True((await gate.AdmitAsync([rpm], 0, 0)).Admission.Allowed);
        Assert.True(gate.SharedHealthy);
    }

    /// <summary>The store's answer for one budget's spend; nothing else is asked of it here.</summary>
    private sealed class SpendStore(long spent) : IGovernanceStore
    {
        public long SpentIn(string scope, string scopeId, long periodStart) => spent;
        public long DirectoryVersion() => throw new NotSupportedException();
        public (IReadOnlyList<Tenant> Tenants, IReadOnlyList<Team> Teams, IReadOnlyList<StoredKey> Keys) LoadDirectory() => throw new NotSupportedException();
        public void Insert(Tenant tenant, AuditEntry audit) => throw new NotSupportedException();
        public void Update(Tenant tenant, AuditEntry audit) => throw new NotSupportedException();
        public void Insert(Team team, AuditEntry audit) => throw new NotSupportedException();
        public void Update(Team team, AuditEntry audit) => throw new NotSupportedException();
        public void Insert(StoredKey key, AuditEntry audit) => throw new NotSupportedException();
        public void Update(StoredKey key, AuditEntry audit) => throw new NotSupportedException();
        public bool Delete(string entity, string id, AuditEntry audit) => throw new NotSupportedException();
        public IReadOnlyList<AuditEntry> Audit(long? before, int limit, string? entity = null, string? entityId = null) => throw new NotSupportedException();
        public IReadOnlyList<StoredProvider> LoadProviders() => throw new NotSupportedException();
        public void Put(StoredProvider provider, AuditEntry audit) => throw new NotSupportedException();
        public void ReplaceSecrets(IReadOnlyList<StoredProvider> providers, AuditEntry audit) => throw new NotSupportedException();
        public IReadOnlyList<SpendRow> LoadSpend(long since) => throw new NotSupportedException();
        public void AddSpend(IReadOnlyList<SpendRow> deltas) => throw new NotSupportedException();
        public IReadOnlyList<UsageRow> Usage(UsageGroup groupBy, long from, long to) => throw new NotSupportedException();
        public (IReadOnlyList<LogRow> Rows, long? NextBefore) Logs(LogQuery query) => throw new NotSupportedException();
        public IReadOnlyList<Gateway.Core.Analytics.SeriesPoint> Series(Gateway.Core.Analytics.SeriesQuery query) => throw new NotSupportedException();
        public IReadOnlyList<LogRow> TopRequests(Gateway.Core.Analytics.TopQuery query) => throw new NotSupportedException();
    }
}
