namespace Gateway.Core.Governance;

/// <summary>
/// The live counts of one tenant, team, key or deployment: its rate window (the current UTC minute)
/// and its budget's spend in the current period, with what requests in flight have reserved. Kept
/// across directory and configuration changes (a limit edited keeps its count). Only the
/// <see cref="Governor"/> touches the numbers, under its lock.
/// </summary>
public sealed class ScopeCounters(string scope, string id)
{
    public string Scope { get; } = scope;
    public string Id { get; } = id;

    // Rate window: requests and tokens counted in the minute that starts at WindowStart (Unix ms).
    internal long WindowStart;
    internal int Requests;
    internal long Tokens;

    // Budget: spend settled in the period starting at PeriodStart, reservations of requests in flight.
    internal BudgetPeriod Period;
    internal long PeriodStart = -1;
    internal long Spent;
    internal long Reserved;
    internal bool Alerted;

    /// <summary>Settled spend not yet written to the store, by period start.</summary>
    internal Dictionary<long, long>? Unflushed;

    /// <summary>Moves the rate window to the minute holding <paramref name="now"/>.</summary>
    internal void Roll(long now)
    {
        long minute = now - (((now % 60_000) + 60_000) % 60_000);
        if (minute == WindowStart) return;
        WindowStart = minute;
        Requests = 0;
        Tokens = 0;
    }

    /// <summary>Moves the budget to the period of <paramref name="budget"/> holding <paramref name="now"/>; a new period starts from nothing spent.</summary>
    internal void RollBudget(Budget budget, long now)
    {
        long start = Budget.PeriodStart(budget.Period, now);
        if (start == PeriodStart && budget.Period == Period) return;
        Period = budget.Period;
        PeriodStart = start;
        Spent = 0;
        Alerted = false;
    }

    /// <summary>What this budget has spent (settled) in the period of <paramref name="budget"/> holding <paramref name="now"/>, in nano-dollars; read without the lock, for display and routing.</summary>
    public long SpentIn(Budget budget, long now) =>
        Volatile.Read(ref PeriodStart) == Budget.PeriodStart(budget.Period, now) && Period == budget.Period ? Volatile.Read(ref Spent) : 0;

    /// <summary>What requests in flight have reserved against this budget.</summary>
    public long ReservedNanos => Reserved;
}

/// <summary>One level that governs a request: its limits and budget (as configured now) and its live counts.</summary>
public sealed record GovernedScope(string Scope, string Id, RateLimits Limits, Budget? Budget, ScopeCounters Counters);

/// <summary>What governs a stored key's requests: the key itself, its team and its tenant (those that set a limit or a budget), and when it expires.</summary>
public sealed record KeyGovernance(string Name, string? Team, string? Tenant, long? ExpiresAt, GovernedScope[] Scopes)
{
    public static readonly KeyGovernance None = new("", null, null, null, []);

    /// <summary>Some level counts tokens or money: admission needs the request's token estimate.</summary>
    public bool NeedsTokens { get; } = Scopes.Any(s => s.Limits.Tpm > 0 || s.Budget is not null);
}
