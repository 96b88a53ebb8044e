using System.Collections.Concurrent;
using System.Net.Sockets;
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

    /// <summary>A call's own connect limit, shorter than the provider's (a group's <c>timeouts.connectMs</c>).</summary>
    public static readonly HttpRequestOptionsKey<TimeSpan> ConnectTimeoutOption = new("gateway.connect-timeout");

    private static SocketsHttpHandler CreateHandler(ProviderConfig config) => new()
    {
        ConnectTimeout = config.ConnectTimeout,
        ConnectCallback = ConnectAsync,
        // Re-resolve DNS now and then; drop idle sockets before typical upstream/LB idle cut-offs.
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(50),
        MaxConnectionsPerServer = int.MaxValue,
        EnableMultipleHttp2Connections = true,
        // Bytes are relayed as they come: no decompression, no cookies, no redirects.
        AutomaticDecompression = System.Net.DecompressionMethods.None,
        UseCookies = false,
        AllowAutoRedirect = false,
        // The gateway writes the trace headers itself (UpstreamHttp), from its own attempt span.
        ActivityHeadersPropagator = null,
    };

    /// <summary>
    /// What the handler does by default (TCP to the host or proxy, Nagle off), within the calling
    /// request's connect limit when it set one. A connection outlives that request in the pool; the
    /// limit only governs how long this one waited for it.
    /// </summary>
    private static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        CancellationTokenSource? limit = null;
        try
        {
            if (context.InitialRequestMessage.Options.TryGetValue(ConnectTimeoutOption, out var timeout) && timeout > TimeSpan.Zero)
            {
                limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                limit.CancelAfter(timeout);
            }
            await socket.ConnectAsync(context.DnsEndPoint, limit?.Token ?? cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch (OperationCanceledException) when (limit is not null && limit.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new SocketException((int)SocketError.TimedOut);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        finally
        {
            limit?.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (var invoker in _invokers.Values) invoker.Dispose();
        _invokers.Clear();
    }
}
