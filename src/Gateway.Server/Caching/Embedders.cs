using System.Collections.Concurrent;
using Gateway.Core;
using Gateway.Core.Caching;
using Gateway.Core.Config;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Caching;

/// <summary>The semantic cache's embedders by name: the one <c>local</c> process, and one per model asked. Stops the local one with the gateway.</summary>
internal sealed class Embedders(Func<GatewaySnapshot> snapshot, string localPath, TimeProvider time, ILoggerFactory loggers) : IDisposable
{
    private readonly ConcurrentDictionary<string, ProviderEmbedder> _models = new(StringComparer.Ordinal);
    private readonly Lazy<LocalEmbedder> _local = new(() => new LocalEmbedder(localPath, time, loggers.CreateLogger<LocalEmbedder>()));

    public IPromptEmbedder For(string name) =>
        name == SemanticCacheConfig.LocalEmbedder ? _local.Value : _models.GetOrAdd(name, static (model, current) => new ProviderEmbedder(model, current), snapshot);

    /// <summary>Starts the local embedder now when a semantic cache uses it: it takes seconds to load its model.</summary>
    public void WarmUp(CacheConfig config)
    {
        if (config.Models.Values.Any(m => m.Semantic?.Embedder == SemanticCacheConfig.LocalEmbedder)) _local.Value.StartIfDue();
    }

    public void Dispose()
    {
        if (_local.IsValueCreated) _local.Value.Dispose();
    }
}
