using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Gateway.Core.Governance;

/// <summary>What a request holds against its limits and budgets from admission until it settles.</summary>
/// <param name="SharedId">The reservation's id in the shared store (<see cref="ISharedGovernor"/>); null when this node alone counted it.</param>
public readonly record struct Reservation(GovernedScope[] Scopes, long WindowStart, long Tokens, long CostNanos, string? SharedId = null)
{
    public bool IsEmpty => Scopes is null || Scopes.Length == 0;
}

public enum AdmissionResult
{
    Allowed,
    /// <summary>Over <c>rpm</c> or <c>tpm</c> in the current minute.</summary>
    RateLimited,
    /// <summary>The request alone asks for more tokens than a <c>tpm</c> allows in a whole minute.</summary>
    TooLarge,
    /// <summary>Its worst case does not fit in what is left of a budget.</summary>
    OverBudget,
    /// <summary>A budget governs it and the shared store that counts budgets across replicas is unreachable: budgets fail closed.</summary>
    Unavailable,
}

/// <summary>The admission decision and what the <c>x-ratelimit-*</c> headers say (-1 where no limit applies).</summary>
public readonly record struct Admission(AdmissionResult Result, GovernedScope? By, bool ByTokens,
    int LimitRequests, int RemainingRequests, long ResetRequestsMs, long LimitTokens, long RemainingTokens, long ResetTokensMs)
{
    public bool Allowed => Result == AdmissionResult.Allowed;
}

/// <summary>
/// Exact limits and race-free budgets on one node. A request is admitted against every level that
/// governs it (key, team, tenant) in one step under one lock: all pass and all are counted, or none
/// is. Its tokens (prompt estimate plus the output it may ask for) and worst-case cost are reserved
/// then; when it ends they are settled to what it really used, so concurrent requests can never
/// spend past a budget. Rate windows are the UTC minute (as OpenAI reports them). The lock guards a
/// few additions per request; nothing here reads the store.
/// </summary>
public sealed partial class Governor(TimeProvider time, ILogger<Governor>? logger = null)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Scope, string Id), ScopeCounters> _counters = [];
    private readonly Dictionary<(string Scope, string Id, long PeriodStart), long> _loaded = [];
    private readonly HashSet<ScopeCounters> _dirty = [];

    /// <summary>The live counters of a scope, made on first use and kept for the life of the process.</summary>
    public ScopeCounters Counters(string scope, string id)
    {
        lock (_gate)
        {
            ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_counters, (scope, id), out _);
            return slot ??= new ScopeCounters(scope, id);
        }
    }

    /// <summary>Spend read from the store: counted when a budget's period is (next) entered.</summary>
    public void Load(IEnumerable<SpendRow> rows)
    {
        lock (_gate)
        {
            foreach (var row in rows)
            {
                _loaded[(row.Scope, row.ScopeId, row.PeriodStart)] = row.SpentNanos;
                // A period already entered before the store was read (none, normally) takes the stored spend too.
                if (_counters.TryGetValue((row.Scope, row.ScopeId), out var counters) && counters.PeriodStart == row.PeriodStart)
                    counters.Spent = Math.Max(counters.Spent, row.SpentNanos);
            }
        }
    }

    /// <summary>
    /// Admits a request against <paramref name="scopes"/>: <paramref name="tokens"/> (its prompt estimate plus the output it may
    /// produce) and <paramref name="worstCostNanos"/> are reserved when every scope has room, nothing is counted when one has not.
    /// </summary>
    public Admission Admit(GovernedScope[] scopes, long tokens, long worstCostNanos, out Reservation reservation)
    {
        reservation = default;
        long now = time.GetUtcNow().ToUnixTimeMilliseconds();
        long resetMs = 60_000 - (((now % 60_000) + 60_000) % 60_000);
        lock (_gate)
        {
            foreach (var scope in scopes)
            {
                var c = scope.Counters;
                c.Roll(now);
                var limits = scope.Limits;
                if (limits.Rpm > 0 && c.Requests + 1 > limits.Rpm) return Headers(AdmissionResult.RateLimited, scope, false, scopes, resetMs);
                if (limits.Tpm > 0 && tokens > limits.Tpm) return Headers(AdmissionResult.TooLarge, scope, true, scopes, resetMs);
                if (limits.Tpm > 0 && c.Tokens + tokens > limits.Tpm) return Headers(AdmissionResult.RateLimited, scope, true, scopes, resetMs);
                if (scope.Budget is { } budget)
                {
                    RollBudget(c, budget, now);
                    if (c.Spent >= budget.LimitNanos || c.Spent + c.Reserved + worstCostNanos > budget.LimitNanos)
                        return Headers(AdmissionResult.OverBudget, scope, false, scopes, resetMs);
                }
            }
            foreach (var scope in scopes)
            {
                var c = scope.Counters;
                c.Requests++;
                c.Tokens += tokens;
                if (scope.Budget is not null) c.Reserved += worstCostNanos;
            }
            reservation = new Reservation(scopes, now - (60_000 - resetMs), tokens, worstCostNanos);
            return Headers(AdmissionResult.Allowed, null, false, scopes, resetMs);
        }
    }

    /// <summary>
    /// Ends a reservation: the tokens and cost it really used replace what was reserved (null: unknown,
    /// the reservation stands as spent). Spend counts in the budget period the request ends in.
    /// </summary>
    public void Settle(in Reservation reservation, long? tokens, long? costNanos)
    {
        if (reservation.IsEmpty) return;
        long now = time.GetUtcNow().ToUnixTimeMilliseconds();
        long cost = Math.Max(0, costNanos ?? reservation.CostNanos);
        List<(GovernedScope, long)>? alerts = null;
        lock (_gate)
        {
            foreach (var scope in reservation.Scopes)
            {
                var c = scope.Counters;
                if (tokens is { } used && c.WindowStart == reservation.WindowStart) c.Tokens = Math.Max(0, c.Tokens - reservation.Tokens + used);
                if (scope.Budget is not { } budget) continue;
                c.Reserved = Math.Max(0, c.Reserved - reservation.CostNanos);
                if (cost > 0 && Spend(c, budget, now, cost)) (alerts ??= []).Add((scope, c.Spent));
            }
        }
        if (alerts is not null && logger is not null)
            foreach (var (scope, spent) in alerts) Log.BudgetAlert(logger, scope.Scope, scope.Id, Budget.ToUsd(spent), scope.Budget!.Usd, Budget.Name(scope.Budget.Period) ?? "lifetime");
    }

    /// <summary>Spend with no reservation before it (a deployment's budget, charged when its answer is counted).</summary>
    public void Charge(GovernedScope scope, long costNanos)
    {
        if (scope.Budget is not { } budget || costNanos <= 0) return;
        bool alert;
        long spent;
        lock (_gate)
        {
            alert = Spend(scope.Counters, budget, time.GetUtcNow().ToUnixTimeMilliseconds(), costNanos);
            spent = scope.Counters.Spent;
        }
        if (alert && logger is not null) Log.BudgetAlert(logger, scope.Scope, scope.Id, Budget.ToUsd(spent), budget.Usd, Budget.Name(budget.Period) ?? "lifetime");
    }

    /// <summary>
    /// What a budget has spent in its current period across replicas, as the shared store counts it: this node's
    /// view (what routing reads) catches up to it. Never lowers it: this node's own charges may not have reached the count yet.
    /// </summary>
    public void Observe(GovernedScope scope, long sharedSpentNanos)
    {
        if (scope.Budget is not { } budget) return;
        lock (_gate)
        {
            RollBudget(scope.Counters, budget, time.GetUtcNow().ToUnixTimeMilliseconds());
            scope.Counters.Spent = Math.Max(scope.Counters.Spent, sharedSpentNanos);
        }
    }

    /// <summary>What a budget has spent (settled) in its current period, stored spend included.</summary>
    public long SpentNanos(string scope, string id, Budget budget)
    {
        var c = Counters(scope, id);
        lock (_gate)
        {
            RollBudget(c, budget, time.GetUtcNow().ToUnixTimeMilliseconds());
            return c.Spent;
        }
    }

    /// <summary>
    /// Replicas sharing Redis: what a budget has spent and reserved across all of them, for display (null when the
    /// shared store does not know it yet or cannot say). Set by the host; this node's counts stand in otherwise.
    /// </summary>
    public Func<string, string, Budget, (long Spent, long Reserved)?>? SharedSpend { get; set; }

    /// <summary>What a budget has spent in its current period and what requests in flight hold against it: across replicas when they share one count.</summary>
    public (long Spent, long Reserved) Spend(string scope, string id, Budget budget) =>
        SharedSpend?.Invoke(scope, id, budget) ?? (SpentNanos(scope, id, budget), Counters(scope, id).ReservedNanos);

    /// <summary>Settled spend not yet in the store, taken (the caller writes it, or hands it back with <see cref="Return"/>).</summary>
    public List<SpendRow> TakeUnflushed()
    {
        var rows = new List<SpendRow>();
        lock (_gate)
        {
            foreach (var c in _dirty)
            {
                foreach (var (start, nanos) in c.Unflushed!) rows.Add(new SpendRow(c.Scope, c.Id, start, nanos));
                c.Unflushed.Clear();
            }
            _dirty.Clear();
        }
        return rows;
    }

    /// <summary>Spend that could not be written goes back to be written with the next batch.</summary>
    public void Return(IEnumerable<SpendRow> rows)
    {
        lock (_gate)
            foreach (var row in rows)
            {
                ref var c = ref CollectionsMarshal.GetValueRefOrAddDefault(_counters, (row.Scope, row.ScopeId), out _);
                c ??= new ScopeCounters(row.Scope, row.ScopeId);
                AddUnflushed(c, row.PeriodStart, row.SpentNanos);
            }
    }

    private bool Spend(ScopeCounters c, Budget budget, long now, long cost)
    {
        RollBudget(c, budget, now);
        c.Spent += cost;
        AddUnflushed(c, c.PeriodStart, cost);
        if (c.Alerted || budget.AlertAt is not { } alertAt || c.Spent < (long)(budget.LimitNanos * alertAt)) return false;
        c.Alerted = true;
        return true;
    }

    private void AddUnflushed(ScopeCounters c, long periodStart, long nanos)
    {
        c.Unflushed ??= [];
        ref long slot = ref CollectionsMarshal.GetValueRefOrAddDefault(c.Unflushed, periodStart, out _);
        slot += nanos;
        _dirty.Add(c);
    }

    private void RollBudget(ScopeCounters c, Budget budget, long now)
    {
        long before = c.PeriodStart;
        c.RollBudget(budget, now);
        if (c.PeriodStart != before) c.Spent = _loaded.GetValueOrDefault((c.Scope, c.Id, c.PeriodStart));
    }

    /// <summary>The headers of the tightest limits among the scopes: the fewest requests and tokens left.</summary>
    private static Admission Headers(AdmissionResult result, GovernedScope? by, bool byTokens, GovernedScope[] scopes, long resetMs) =>
        Headers(result, by, byTokens, scopes, resetMs, static (scope, _) => (scope.Counters.Requests, scope.Counters.Tokens));

    /// <summary>The admission and its headers from each scope's counts in the current window (<paramref name="counts"/>: by scope and index).</summary>
    public static Admission Headers(AdmissionResult result, GovernedScope? by, bool byTokens, GovernedScope[] scopes, long resetMs,
        Func<GovernedScope, int, (int Requests, long Tokens)> counts)
    {
        int limitRequests = -1, remainingRequests = int.MaxValue;
        long limitTokens = -1, remainingTokens = long.MaxValue;
        for (int i = 0; i < scopes.Length; i++)
        {
            var scope = scopes[i];
            var (requests, tokens) = counts(scope, i);
            if (scope.Limits.Rpm > 0 && scope.Limits.Rpm - requests < remainingRequests)
                (limitRequests, remainingRequests) = (scope.Limits.Rpm, Math.Max(0, scope.Limits.Rpm - requests));
            if (scope.Limits.Tpm > 0 && scope.Limits.Tpm - tokens < remainingTokens)
                (limitTokens, remainingTokens) = (scope.Limits.Tpm, Math.Max(0, scope.Limits.Tpm - tokens));
        }
        return new Admission(result, by, byTokens, limitRequests, limitRequests < 0 ? -1 : remainingRequests, limitRequests < 0 ? -1 : resetMs,
            limitTokens, limitTokens < 0 ? -1 : remainingTokens, limitTokens < 0 ? -1 : resetMs);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6001, Level = LogLevel.Warning, Message = "Budget alert: {Scope} {Id} has spent {Spent:0.######} USD of its {Limit} USD ({Period})")]
        public static partial void BudgetAlert(ILogger logger, string scope, string id, double spent, decimal limit, string period);
    }
}
