using Gateway.Core.Governance;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Governance;

/// <summary>
/// Where a request is admitted and settled. One node: this process's <see cref="Governor"/>. Replicas with
/// Redis: the <see cref="ISharedGovernor"/>, one count for all, and the Governor keeps this replica's view of
/// budget spend (written to the database each second, which seeds a budget's shared count when Redis has none).
/// While Redis is away (chosen, DESIGN §11 and README "Scale-out"): rate limits fall back to this replica's share
/// of each limit (the limit divided by the replicas last seen), with a warning; a request under a budget is
/// refused (503 <c>budget_unavailable</c>): budgets fail closed. Each request tries Redis again, so recovery is
/// automatic.
/// </summary>
internal sealed partial class GovernanceGate(Governor local, TimeProvider time, ILogger<GovernanceGate> logger, ISharedGovernor? shared = null,
    IGovernanceStore? store = null, Func<int>? replicas = null)
{
    private long _degradedSince, _sharedFailures;

    /// <summary>Whether limits are counted across replicas now; false while the shared store is unreachable.</summary>
    public bool SharedHealthy => shared is null || Interlocked.Read(ref _degradedSince) == 0;

    /// <summary>Limits and budgets are counted in a shared store (Redis).</summary>
    public bool Shared => shared is not null;

    /// <summary>Calls to the shared store that failed or timed out.</summary>
    public long SharedFailures => Interlocked.Read(ref _sharedFailures);

    public ValueTask<(Admission Admission, Reservation Reservation)> AdmitAsync(GovernedScope[] scopes, long tokens, long worstCostNanos)
    {
        if (shared is null)
        {
            var admission = local.Admit(scopes, tokens, worstCostNanos, out var reservation);
            return new ValueTask<(Admission, Reservation)>((admission, reservation));
        }
        return SharedAdmitAsync(scopes, tokens, worstCostNanos);
    }

    private async ValueTask<(Admission, Reservation)> SharedAdmitAsync(GovernedScope[] scopes, long tokens, long worst)
    {
        try
        {
            // A budget seen for the first time in its period is seeded from the database, then asked again (twice at most:
            // a period that rolls over between the two is seeded once more).
            for (int attempt = 0; attempt < 3; attempt++)
            {
                long now = time.GetUtcNow().ToUnixTimeMilliseconds();
                var answer = await shared!.AdmitAsync(scopes, tokens, worst, now).ConfigureAwait(false);
                Healthy();
                if (answer.Unseeded is not { Budget: not null } unseeded) return (answer.Admission, answer.Reservation);
                await SeedAsync(unseeded, now).ConfigureAwait(false);
            }
            throw new SharedStoreException("a budget's spend could not be seeded in the shared store");
        }
        catch (SharedStoreException ex)
        {
            Degraded(ex.Message);
            return Fallback(scopes, tokens, worst);
        }
    }

    /// <summary>Redis away: budgets fail closed; rate limits hold this replica's share.</summary>
    private (Admission, Reservation) Fallback(GovernedScope[] scopes, long tokens, long worst)
    {
        foreach (var scope in scopes)
            if (scope.Budget is not null)
                return (new Admission(AdmissionResult.Unavailable, scope, false, -1, -1, -1, -1, -1, -1), default);
        int n = Math.Max(1, replicas?.Invoke() ?? 1);
        var shares = new GovernedScope[scopes.Length];
        for (int i = 0; i < scopes.Length; i++)
        {
            var s = scopes[i];
            shares[i] = n == 1 ? s : s with { Limits = new RateLimits(Share(s.Limits.Rpm, n), (int)Share(s.Limits.Tpm, n)) };
        }
        var admission = local.Admit(shares, tokens, worst, out var reservation);
        return (admission, reservation);
    }

    // At least one request or token per replica where a limit is set: a share of 0 would mean "no limit".
    private static int Share(int limit, int replicas) => limit <= 0 ? 0 : Math.Max(1, limit / replicas);

    /// <summary>Settles a reservation to what the request used (see <see cref="Governor.Settle"/>); a shared one in Redis, its spend kept here for the database too.</summary>
    public ValueTask SettleAsync(Reservation reservation, long? tokens, long? costNanos)
    {
        if (reservation.IsEmpty) return default;
        if (reservation.SharedId is null)
        {
            local.Settle(reservation, tokens, costNanos);
            return default;
        }
        long cost = Math.Max(0, costNanos ?? reservation.CostNanos);
        bool budgets = false, tokensChange = false;
        foreach (var scope in reservation.Scopes)
        {
            if (scope.Budget is not null)
            {
                local.Charge(scope, cost);
                budgets = true;
            }
            if (scope.Limits.Tpm > 0 && tokens is { } used && used != reservation.Tokens) tokensChange = true;
        }
        // Nothing held to release and no tokens to correct (request limits only): no second round trip.
        if (!budgets && !tokensChange) return default;
        return SharedSettleAsync(reservation, tokens, cost);
    }

    private async ValueTask SharedSettleAsync(Reservation reservation, long? tokens, long cost)
    {
        try
        {
            await shared!.SettleAsync(reservation, tokens, cost, time.GetUtcNow().ToUnixTimeMilliseconds()).ConfigureAwait(false);
        }
        catch (SharedStoreException ex)
        {
            // The reservation expires in Redis on its own; the spend is in the database (above), which seeds Redis if it lost the count.
            Degraded(ex.Message);
        }
    }

    /// <summary>A deployment's budget charged what its answer cost (no reservation before it).</summary>
    public ValueTask ChargeAsync(GovernedScope scope, long costNanos)
    {
        local.Charge(scope, costNanos);
        return shared is null ? default : SharedChargeAsync(scope, costNanos);
    }

    private async ValueTask SharedChargeAsync(GovernedScope scope, long costNanos)
    {
        try
        {
            long now = time.GetUtcNow().ToUnixTimeMilliseconds();
            if (!await shared!.ChargeAsync(scope, costNanos, now).ConfigureAwait(false))
            {
                await SeedAsync(scope, now).ConfigureAwait(false);
                await shared.ChargeAsync(scope, costNanos, now).ConfigureAwait(false);
            }
        }
        catch (SharedStoreException ex)
        {
            Degraded(ex.Message);
        }
    }

    private ValueTask SeedAsync(GovernedScope scope, long now)
    {
        long start = Budget.PeriodStart(scope.Budget!.Period, now);
        return shared!.SeedAsync(scope, start, store?.SpentIn(scope.Scope, scope.Id, start) ?? 0, now);
    }

    /// <summary>
    /// Deployment budgets are charged after each answer, so routing reads what they spent from this replica's
    /// counters: brought up to the count across replicas here (called every second), so that N replicas do not
    /// each spend a deployment's whole budget.
    /// </summary>
    public async Task ObserveDeploymentBudgetsAsync(IEnumerable<GovernedScope> deployments)
    {
        if (shared is null) return;
        try
        {
            long now = time.GetUtcNow().ToUnixTimeMilliseconds();
            foreach (var scope in deployments)
            {
                if (scope.Budget is null) continue;
                var seen = await shared.SpendAsync(scope, now).ConfigureAwait(false);
                if (seen is { } counted) local.Observe(scope, counted.Spent);
                else await SeedAsync(scope, now).ConfigureAwait(false);
            }
        }
        catch (SharedStoreException ex)
        {
            Degraded(ex.Message);
        }
    }

    private void Healthy()
    {
        if (Interlocked.Exchange(ref _degradedSince, 0) != 0) Log.Recovered(logger);
    }

    private void Degraded(string reason)
    {
        Interlocked.Increment(ref _sharedFailures);
        if (Interlocked.CompareExchange(ref _degradedSince, time.GetUtcNow().ToUnixTimeMilliseconds(), 0) == 0)
            Log.Degraded(logger, Math.Max(1, replicas?.Invoke() ?? 1), reason);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6301, Level = LogLevel.Warning, Message = "The shared store (Redis) is unreachable: rate limits now hold this replica's share (1/{Replicas} of each), requests under a budget are refused until it is back: {Reason}")]
        public static partial void Degraded(ILogger logger, int replicas, string reason);

        [LoggerMessage(EventId = 6302, Level = LogLevel.Information, Message = "The shared store (Redis) answers again: limits and budgets are counted across replicas")]
        public static partial void Recovered(ILogger logger);
    }
}
