using System.Collections.Concurrent;
using Gateway.Core.Config;

namespace Gateway.Providers.Http;

/// <summary>
/// One <see cref="SocketsHttpHandler"/> (one connection pool) per upstream. A config reload that keeps
/// a provider's connection settings keeps its handler, so warm connections survive the reload.
/// Handlers live for the process: there are as many as distinct upstreams ever configured.
/// </summary>
public sealed class UpstreamHandlerPool : IDisposable
{
    private readonly ConcurrentDictionary<string, HttpMessageInvoker> _invokers = new(StringComparer.Ordinal);

    public HttpMessageInvoker Get(ProviderConfig config, string baseUrl)
    {
        string key = $"{config.Name}|{baseUrl}|{config.ConnectTimeout.Ticks}";
        return _invokers.GetOrAdd(key, static (_, c) => new HttpMessageInvoker(CreateHandler(c), disposeHandler: true), config);
    }

    private static SocketsHttpHandler CreateHandler(ProviderConfig config) => new()
    {
        ConnectTimeout = config.ConnectTimeout,
        // Re-resolve DNS now and then; drop idle sockets before typical upstream/LB idle cut-offs.
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(50),
        MaxConnectionsPerServer = int.MaxValue,
        EnableMultipleHttp2Connections = true,
        // Bytes are relayed as they come: no decompression, no cookies, no redirects.
        AutomaticDecompression = System.Net.DecompressionMethods.None,
        UseCookies = false,
        AllowAutoRedirect = false,
    };

    public void Dispose()
    {
        foreach (var invoker in _invokers.Values) invoker.Dispose();
        _invokers.Clear();
    }
}
