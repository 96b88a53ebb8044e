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
    public GatewaySnapshot(GatewayConfig config, IReadOnlyDictionary<string, IProvider> providers, KeyRing keys, long version)
    {
        Config = config;
        Providers = providers.ToFrozenDictionary(StringComparer.Ordinal);
        ProvidersBySpan = Providers.GetAlternateLookup<ReadOnlySpan<char>>();
        // Strategies over several deployments arrive with routing; until then an alias is its first deployment.
        Targets = config.Models.ToFrozenDictionary(
            kv => kv.Key,
            kv => new RouteTarget(Providers[kv.Value.Deployments[0].Provider], kv.Value.Deployments[0].Model),
            StringComparer.Ordinal);
        TargetsBySpan = Targets.GetAlternateLookup<ReadOnlySpan<char>>();
        Keys = keys;
        Version = version;
    }

    public GatewayConfig Config { get; }
    public FrozenDictionary<string, IProvider> Providers { get; }
    public FrozenDictionary<string, IProvider>.AlternateLookup<ReadOnlySpan<char>> ProvidersBySpan { get; }
    /// <summary>Aliases from the config's <c>models</c> section.</summary>
    public FrozenDictionary<string, RouteTarget> Targets { get; }
    public FrozenDictionary<string, RouteTarget>.AlternateLookup<ReadOnlySpan<char>> TargetsBySpan { get; }
    public KeyRing Keys { get; }
    public long Version { get; }
    public long MaxBodyBytes => Config.Server.MaxBodyBytes;
}
