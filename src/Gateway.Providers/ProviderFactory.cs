using Gateway.Core.Config;
using Gateway.Core.Providers;
using Gateway.Providers.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Providers;

/// <summary>Builds the provider for a configuration entry through its type's <see cref="ProviderKind"/>.</summary>
public sealed class ProviderFactory(UpstreamHandlerPool handlers, ILoggerFactory loggers, TimeProvider time, ProviderCatalog? catalog = null)
{
    private readonly ProviderServices _services = new(handlers, loggers, time);
    private readonly ProviderCatalog _catalog = catalog ?? BuiltInProviders.Catalog;

    public IProvider Create(ProviderConfig config) =>
        _catalog.Find(config.Type) is ProviderKind kind ? kind.Create(config, _services)
        : throw new ArgumentException($"unknown provider type '{config.Type}'", nameof(config));
}
