using System.Collections.Frozen;
using Gateway.Core.Auth;
using Gateway.Core.Config;
using Gateway.Core.Providers;
using Gateway.Core.Routing;

namespace Gateway.Core;

/// <summary>
/// Everything a request needs from configuration, immutable. A reload builds a new snapshot and
/// swaps it in; a request reads the current one once and keeps it to the end.
/// </summary>
public sealed class GatewaySnapshot
{
    /// <param name="states">What is known of each deployment, kept from snapshot to snapshot; a fresh set when null.</param>
    /// <param name="time">The routing clock (breakers, rests, rate windows, backoff waits); the system's when null.</param>
    /// <param name="random">Where routing and backoff draw their chances; <see cref="Random.Shared"/> when null.</param>
    /// <param name="governor">Where deployments' budgets count their spend; without it deployment budgets are not enforced.</param>
    public GatewaySnapshot(GatewayConfig config, IReadOnlyDictionary<string, IProvider> providers, KeyRing keys, long version, DeploymentStates? states = null,
        TimeProvider? time = null, Random? random = null, Governance.Governor? governor = null)
    {
        Time = time ?? TimeProvider.System;
        Random = random ?? Random.Shared;
        Config = config;
        Providers = providers.ToFrozenDictionary(StringComparer.Ordinal);
        ProvidersBySpan = Providers.GetAlternateLookup<ReadOnlySpan<char>>();
        states ??= new DeploymentStates(Time);
        Groups = config.Models.ToFrozenDictionary(
            kv => kv.Key,
            kv => new DeploymentGroup(kv.Value, [.. kv.Value.Deployments.Select(d =>
                new Deployment(new RouteTarget(Providers[d.Provider], d.Model), d, states.Get(d.Provider, d.Model)) { Budget = DeploymentBudget(d, governor) })], Time, Random),
            StringComparer.Ordinal);
        GroupsBySpan = Groups.GetAlternateLookup<ReadOnlySpan<char>>();
        // A request keeps what its first group read of it through the fallbacks: count tokens up
        // front when any group it may reach weighs them.
        foreach (var group in Groups.Values)
            group.CountsTokens = group.WeighsTokens || group.Config.Fallbacks.Any(name => Groups.TryGetValue(name, out var fallback) && fallback.WeighsTokens);
        DeploymentBudgets = Groups.Values.SelectMany(g => g.Deployments).Where(d => d.Budget is not null)
            .GroupBy(d => d.Name, StringComparer.Ordinal).ToFrozenDictionary(g => g.Key, g => g.First().Budget!, StringComparer.Ordinal);
        Keys = keys;
        Version = version;
        Pricing = new Pricing.PriceTable(config.Pricing);
    }

    /// <summary>
    /// A deployment's budget, counted once per <c>provider/model</c> whichever alias reaches it. Its spend is
    /// read (and its period entered) now, so routing sees stored spend from the first request.
    /// </summary>
    private static Governance.GovernedScope? DeploymentBudget(DeploymentConfig deployment, Governance.Governor? governor)
    {
        if (deployment.Budget is not { } budget || governor is null) return null;
        string id = deployment.Provider + "/" + deployment.Model;
        governor.SpentNanos("deployment", id, budget);
        return new Governance.GovernedScope("deployment", id, Governance.RateLimits.None, budget, governor.Counters("deployment", id));
    }

    /// <summary>The deployments with a budget, by <c>provider/model</c>: what an answer's cost is charged to.</summary>
    public FrozenDictionary<string, Governance.GovernedScope> DeploymentBudgets { get; }

    public GatewayConfig Config { get; }
    public TimeProvider Time { get; }
    public Random Random { get; }
    public FrozenDictionary<string, IProvider> Providers { get; }
    public FrozenDictionary<string, IProvider>.AlternateLookup<ReadOnlySpan<char>> ProvidersBySpan { get; }
    /// <summary>Aliases and groups from the config's <c>models</c> section.</summary>
    public FrozenDictionary<string, DeploymentGroup> Groups { get; }
    public FrozenDictionary<string, DeploymentGroup>.AlternateLookup<ReadOnlySpan<char>> GroupsBySpan { get; }
    public KeyRing Keys { get; }
    /// <summary>What calls cost: the configuration's prices over the built-in list.</summary>
    public Pricing.PriceTable Pricing { get; }
    public long Version { get; }
    public long MaxBodyBytes => Config.Server.MaxBodyBytes;

    /// <summary>The policies built from this configuration; a request selects its chain from these, never from a newer set.</summary>
    public IPolicySet Policies { get; private set; } = IPolicySet.None;

    /// <summary>This snapshot with its policy set: the pair is published together, in one swap.</summary>
    public GatewaySnapshot WithPolicies(IPolicySet policies)
    {
        var copy = (GatewaySnapshot)MemberwiseClone();
        copy.Policies = policies;
        return copy;
    }
}
