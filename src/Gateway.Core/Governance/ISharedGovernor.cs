namespace Gateway.Core.Governance;

/// <summary>
/// Limits and budgets counted in a store every replica shares (Redis), so that N replicas enforce one limit,
/// not N. The same decisions as the <see cref="Governor"/>: admission against every scope at once, all or
/// nothing; a budget's worst case reserved until the request settles; a reservation whose replica died
/// expires instead of holding the budget forever.
/// </summary>
public interface ISharedGovernor
{
    /// <summary>Admits a request against <paramref name="scopes"/> at <paramref name="now"/> (Unix ms).</summary>
    /// <returns>The admission (its reservation carries a <see cref="Reservation.SharedId"/>), or, with
    /// <see cref="SharedAdmission.Unseeded"/> set, nothing counted: that budget's spend is not in the shared store
    /// yet (first use in its period, or the shared store lost it) and must be seeded from the database first.</returns>
    /// <exception cref="SharedStoreException">The shared store did not answer.</exception>
    ValueTask<SharedAdmission> AdmitAsync(GovernedScope[] scopes, long tokens, long worstCostNanos, long now);

    /// <summary>Writes a budget's spend in its period as the database has it, unless the shared store already counts it.</summary>
    ValueTask SeedAsync(GovernedScope scope, long periodStart, long spentNanos, long now);

    /// <summary>Ends a reservation: its tokens replaced by what was used (null: unknown, they stand), its reserved cost released and <paramref name="costNanos"/> spent.</summary>
    /// <exception cref="SharedStoreException">The shared store did not answer (the reservation then expires on its own).</exception>
    ValueTask SettleAsync(Reservation reservation, long? tokens, long costNanos, long now);

    /// <summary>What a budget has spent in its current period and holds in reservations, across replicas; null when the shared store has no count for it yet.</summary>
    /// <exception cref="SharedStoreException">The shared store did not answer.</exception>
    ValueTask<(long Spent, long Reserved)?> SpendAsync(GovernedScope scope, long now);

    /// <summary>Spend with no reservation before it (a deployment's budget).</summary>
    /// <returns>False when the budget's count is not in the shared store yet: seed it (<see cref="SeedAsync"/>), then charge again.</returns>
    /// <exception cref="SharedStoreException">The shared store did not answer.</exception>
    ValueTask<bool> ChargeAsync(GovernedScope scope, long costNanos, long now);
}

public readonly record struct SharedAdmission(Admission Admission, Reservation Reservation, GovernedScope? Unseeded = null);

/// <summary>The shared store (Redis) could not be reached or did not answer in time.</summary>
public sealed class SharedStoreException(string message, Exception? inner = null) : Exception(message, inner);
