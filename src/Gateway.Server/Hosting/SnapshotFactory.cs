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
internal sealed class SnapshotFactory(ProviderFactory providers, byte[]? bootstrapAdminHash, DeploymentStates states, TimeProvider? time = null, Random? random = null)
{
    private long _version;

    public GatewaySnapshot Build(GatewayConfig config)
    {
        var instances = new Dictionary<string, IProvider>(StringComparer.Ordinal);
        foreach (var (name, provider) in config.Providers) instances[name] = providers.Create(provider);

        var ring = new KeyRing();
        // The first-start key is a way in until the operator sets up their own admin key: then it stops working.
        if (bootstrapAdminHash is not null && !HasAdminKey(config)) ring.Add(bootstrapAdminHash, new GatewayKey("admin", admin: true, [], priority: 2));
        foreach (var key in config.Keys) ring.Add(key.Hash, new GatewayKey(key.Id, key.Admin, key.Models, key.Priority));
        if (config.MasterKeyHash is not null) ring.Add(config.MasterKeyHash, new GatewayKey("master", admin: true, [], priority: 2));

        var snapshot = new GatewaySnapshot(config, instances, ring, Interlocked.Increment(ref _version), states, time, random);
        // The tokenizer's vocabulary takes about 200 ms to load: at start (or the reload that first
        // needs it), not on the first request that does.
        if (snapshot.Groups.Values.Any(g => g.CountsTokens)) PromptTokens.Warm();
        return snapshot;
    }

    /// <summary>An admin key the operator chose: <c>GATEWAY_MASTER_KEY</c>, or a configured key marked admin.</summary>
    public static bool HasAdminKey(GatewayConfig config) => config.MasterKeyHash is not null || config.Keys.Any(k => k.Admin);
}
