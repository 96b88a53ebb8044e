using System.Collections.Frozen;
using Gateway.Core.Auth;

namespace Gateway.Core.Governance;

/// <summary>
/// The stored tenants, teams and keys as requests see them: immutable, rebuilt from the store after every
/// change and swapped in whole, so a revoked key is refused from the next request on. Revoked keys are
/// not in the ring at all; expiry is checked per request (it needs no change to happen).
/// </summary>
public sealed class GovernanceDirectory
{
    public static readonly GovernanceDirectory Empty = new([], [], [], null, 0);

    public GovernanceDirectory(IReadOnlyList<Tenant> tenants, IReadOnlyList<Team> teams, IReadOnlyList<StoredKey> keys, Governor? governor, long version)
    {
        Version = version;
        Tenants = tenants.ToFrozenDictionary(t => t.Id, StringComparer.Ordinal);
        Teams = teams.ToFrozenDictionary(t => t.Id, StringComparer.Ordinal);
        Keys = keys.ToFrozenDictionary(k => k.Id, StringComparer.Ordinal);
        Ring = new KeyRing();
        foreach (var key in keys)
        {
            if (key.IsRevoked) continue;
            string? team = key.Team;
            string? tenant = key.Tenant ?? (team is not null && Teams.TryGetValue(team, out var t) ? t.Tenant : null);
            var scopes = new List<GovernedScope>(3);
            if (governor is not null)
            {
                Add(scopes, governor, "key", key.Id, key.Limits, key.Budget);
                if (team is not null && Teams.TryGetValue(team, out var teamRow)) Add(scopes, governor, "team", team, teamRow.Limits, teamRow.Budget);
                if (tenant is not null && Tenants.TryGetValue(tenant, out var tenantRow)) Add(scopes, governor, "tenant", tenant, tenantRow.Limits, tenantRow.Budget);
            }
            Ring.Add(key.Hash, new GatewayKey(key.Id, key.Admin, key.Models, key.Admin ? 2 : 1)
            {
                Governance = new KeyGovernance(key.Name, team, tenant, key.ExpiresAt, [.. scopes]),
            });
        }
    }

    private static void Add(List<GovernedScope> scopes, Governor governor, string scope, string id, RateLimits limits, Budget? budget)
    {
        if (limits.IsNone && budget is null) return;
        scopes.Add(new GovernedScope(scope, id, limits, budget, governor.Counters(scope, id)));
    }

    /// <summary>The store's directory version this was built from.</summary>
    public long Version { get; }
    public FrozenDictionary<string, Tenant> Tenants { get; }
    public FrozenDictionary<string, Team> Teams { get; }
    public FrozenDictionary<string, StoredKey> Keys { get; }
    /// <summary>The stored keys that are not revoked, by hash.</summary>
    public KeyRing Ring { get; }
}

/// <summary>The current directory, swapped atomically.</summary>
public sealed class DirectoryHolder
{
    private volatile GovernanceDirectory _current = GovernanceDirectory.Empty;

    public GovernanceDirectory Current => _current;

    public void Swap(GovernanceDirectory next) => _current = next;
}
