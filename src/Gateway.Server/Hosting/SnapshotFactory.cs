using Gateway.Core;
using Gateway.Core.Auth;
using Gateway.Core.Config;
using Gateway.Core.Providers;
using Gateway.Core.Routing;
using Gateway.Providers;

namespace Gateway.Server.Hosting;

/// <summary>Turns a validated configuration into a runnable snapshot: provider instances and the key ring.</summary>
/// <param name="time">The routing clock every snapshot carries.</param>
/// <param name="random">The routing and backoff chances every snapshot carries.</param>
internal sealed class SnapshotFactory(ProviderFactory providers, byte[]? bootstrapAdminHash, DeploymentStates states, TimeProvider? time = null, Random? random = null,
    Governance.StoredProviders? stored = null, Gateway.Core.Governance.Governor? governor = null)
{
    private long _version;
    private GatewayConfig? _fileConfig;

    /// <summary>Held while a snapshot is built and swapped in (a reload, an admin change to providers): one at a time.</summary>
    public Lock Publishing { get; } = new();

    /// <summary>
    /// A snapshot of <paramref name="config"/> (as the file says it) with the providers stored through the admin API.
    /// </summary>
    /// <exception cref="ArgumentException">A provider name is both in the file and in the store.</exception>
    public GatewaySnapshot Build(GatewayConfig config)
    {
        var fileConfig = config;
        if (stored is { Current.Count: > 0 } extra)
        {
            var merged = new Dictionary<string, ProviderConfig>(config.Providers, StringComparer.Ordinal);
            foreach (var (name, provider) in extra.Current)
                if (!merged.TryAdd(name, provider))
                    throw new ArgumentException($"the provider '{name}' is declared by the configuration ({config.Providers[name].Origin}) and stored through the admin API: "
                        + $"remove one (DELETE /admin/v1/providers/{name}, or the file's entry)");
            config = config with { Providers = merged };
        }
        var snapshot = BuildMerged(config);
        _fileConfig = fileConfig;
        return snapshot;
    }

    /// <summary>Builds again from the last configuration with the stored providers as they are now, keeping the policies.</summary>
    public void Republish(SnapshotHolder holder)
    {
        lock (Publishing)
        {
            var current = holder.Current;
            holder.Swap(Build(_fileConfig ?? current.Config).WithPolicies(current.Policies));
        }
    }

    private GatewaySnapshot BuildMerged(GatewayConfig config)
    {
        var instances = new Dictionary<string, IProvider>(StringComparer.Ordinal);
        foreach (var (name, provider) in config.Providers) instances[name] = providers.Create(provider);

        var ring = new KeyRing();
        // The first-start key is a way in until the operator sets up their own admin key: then it stops working.
        if (bootstrapAdminHash is not null && !HasAdminKey(config)) ring.Add(bootstrapAdminHash, new GatewayKey("admin", admin: true, [], priority: 2));
        foreach (var key in config.Keys)
            ring.Add(key.Hash, new GatewayKey(key.Id, key.Admin, key.Models, key.Priority) { Governance = ConfigKeyGovernance(key) });
        if (config.MasterKeyHash is not null) ring.Add(config.MasterKeyHash, new GatewayKey("master", admin: true, [], priority: 2));

        var snapshot = new GatewaySnapshot(config, instances, ring, Interlocked.Increment(ref _version), states, time, random, governor);
        // The tokenizer's vocabulary takes about 200 ms to load: at start (or the reload that first
        // needs it), not on the first request that does.
        if (snapshot.Groups.Values.Any(g => g.CountsTokens)) PromptTokens.Warm();
        return snapshot;
    }

    /// <summary>An admin key the operator chose: <c>GATEWAY_MASTER_KEY</c>, or a configured key marked admin.</summary>
    public static bool HasAdminKey(GatewayConfig config) => config.MasterKeyHash is not null || config.Keys.Any(k => k.Admin);

    /// <summary>A file key's own limits and budget, counted in the same counters across reloads (by its id).</summary>
    private Gateway.Core.Governance.KeyGovernance ConfigKeyGovernance(KeyConfig key)
    {
        if (governor is null || (key.Limits.IsNone && key.Budget is null)) return Gateway.Core.Governance.KeyGovernance.None;
        var scope = new Gateway.Core.Governance.GovernedScope("key", key.Id, key.Limits, key.Budget, governor.Counters("key", key.Id));
        return new Gateway.Core.Governance.KeyGovernance(key.Id, null, null, null, [scope]);
    }
}
