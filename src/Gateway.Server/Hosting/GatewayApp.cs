using Gateway.Core;
using Gateway.Core.Routing;
using Gateway.Policies;
using Gateway.Server.Observability;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Abstractions;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gateway.Server.Hosting;

/// <summary>The parts of a running gateway that tests look at (a snapshot, a breaker's state, a policy runner, the metrics).</summary>
internal sealed record GatewayParts(SnapshotHolder Snapshots, DeploymentStates Deployments, PolicyRegistry Policies, ConfigWatcher Watcher, GatewayMetrics Metrics);

/// <summary>
/// A built gateway: Kestrel serving one request delegate, the background services (request log writer,
/// governance sync, config watcher, exporters), and everything else it made, released in reverse order.
/// Started once, stopped once: the server stops taking requests and finishes those in flight (at most
/// <see cref="DrainTimeout"/>), then the background services stop (writing what they hold), then the
/// parts are disposed, the store last.
/// </summary>
internal sealed partial class GatewayApp : IAsyncDisposable
{
    /// <summary>The category of the start and stop lines ("Now listening on"), shown at the default level whatever the general one.</summary>
    public const string LifetimeCategory = "Gateway.Lifetime";

    /// <summary>How long requests in flight (streams included) may take to finish once a stop is asked.</summary>
    public static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(30);

    private readonly KestrelServer _server;
    private readonly PinnedBlockPool _pool;
    private readonly Application _application;
    private readonly LoggerFactory _loggers;
    private readonly ILogger _lifetime;
    private readonly IReadOnlyList<IHostedService> _background;
    private readonly List<object> _owned;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _started, _stopping, _disposed;
    private volatile bool _listening;

    internal GatewayApp(IEnumerable<string> urls, RequestDelegate handler, LoggerFactory loggers, IReadOnlyList<IHostedService> background, List<object> owned, GatewayParts parts)
    {
        _loggers = loggers;
        _lifetime = loggers.CreateLogger(LifetimeCategory);
        _background = background;
        _owned = owned;
        Parts = parts;
        _application = new Application(handler);
        var kestrel = new KestrelServerOptions
        {
            AddServerHeader = false,
            // Kestrel asks for these when it binds; the gateway has no service container to give it.
            ApplicationServices = NoServices.Instance,
        };
        // The gateway enforces its own (hot-reloadable) limit and answers 413 in the OpenAI shape.
        kestrel.Limits.MaxRequestBodySize = null;
        _pool = new PinnedBlockPool(TimeProvider.System);
        _server = new KestrelServer(Options.Create(kestrel), new SocketTransportFactory(Options.Create(PinnedBlockPool.TransportOptions(_pool)), loggers), loggers);
        var addresses = _server.Features.Get<IServerAddressesFeature>()!.Addresses;
        foreach (string url in urls) addresses.Add(url);
    }

    public GatewayParts Parts { get; }

    /// <summary>Where the server listens, once started (a port 0 replaced by the one bound).</summary>
    public IReadOnlyCollection<string> Addresses => [.. _server.Features.Get<IServerAddressesFeature>()!.Addresses];

    /// <summary>Completes when a stop has finished (asked by <see cref="StopAsync"/>, a signal, or a dispose).</summary>
    public Task Stopped => _stopped.Task;

    /// <summary>The background services first (the request log's writer is there before the first request), then the server.</summary>
    /// <exception cref="IOException">The address is in use (Kestrel's own message names it).</exception>
    public async Task StartAsync(CancellationToken cancellation = default)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0 || Volatile.Read(ref _stopping) != 0) throw new InvalidOperationException("a gateway starts once");
        foreach (var service in _background) await service.StartAsync(cancellation).ConfigureAwait(false);
        await _server.StartAsync(_application, cancellation).ConfigureAwait(false);
        _listening = true;
        foreach (string address in Addresses) Log.Listening(_lifetime, address);
    }

    /// <summary>Stops taking requests, lets those in flight finish (up to <see cref="DrainTimeout"/>), then stops the background services.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopping, 1) != 0)
        {
            await _stopped.Task.ConfigureAwait(false);
            return;
        }
        try
        {
            if (Volatile.Read(ref _started) != 0)
            {
                if (_listening) Log.Stopping(_lifetime);
                try
                {
                    using var drain = new CancellationTokenSource(DrainTimeout);
                    await _server.StopAsync(drain.Token).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    // The background services still stop: the request log's last rows and the spend are written either way.
                    Log.StopFailed(_lifetime, "the server", ex);
                }
                for (int i = _background.Count - 1; i >= 0; i--)
                {
                    try
                    {
                        await _background[i].StopAsync(CancellationToken.None).ConfigureAwait(false);
                    }
                    catch (Exception ex)
                    {
                        // One service that fails to stop must not keep the others (the request log's last rows) from stopping.
                        Log.StopFailed(_lifetime, _background[i].GetType().Name, ex);
                    }
                }
            }
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _server.Dispose();
        _pool.Dispose();
        await DisposeAllAsync(_owned).ConfigureAwait(false);
        _loggers.Dispose();
    }

    /// <summary>Releases what the build made, last made first (so the store, made first, goes last).</summary>
    internal static async ValueTask DisposeAllAsync(List<object> owned)
    {
        for (int i = owned.Count - 1; i >= 0; i--)
        {
            switch (owned[i])
            {
                case IAsyncDisposable async: await async.DisposeAsync().ConfigureAwait(false); break;
                case IDisposable disposable: disposable.Dispose(); break;
            }
        }
    }

    /// <summary>
    /// What Kestrel runs for each request: the gateway's one delegate over an <see cref="DefaultHttpContext"/>
    /// that each connection keeps and reinitialises for its next request, as ASP.NET Core's hosting layer
    /// does, without its per-request diagnostics.
    /// </summary>
    private sealed class Application(RequestDelegate handler) : IHttpApplication<DefaultHttpContext>
    {
        public DefaultHttpContext CreateContext(IFeatureCollection contextFeatures)
        {
            if (contextFeatures is not IHostContextContainer<DefaultHttpContext> container) return new DefaultHttpContext(contextFeatures);
            if (container.HostContext is { } reused)
            {
                reused.Initialize(contextFeatures);
                return reused;
            }
            return container.HostContext = new DefaultHttpContext(contextFeatures);
        }

        public Task ProcessRequestAsync(DefaultHttpContext context) => handler(context);

        public void DisposeContext(DefaultHttpContext context, Exception? exception) => context.Uninitialize();
    }

    /// <summary>An empty service container: Kestrel looks services up (HTTPS defaults, metrics) and does without.</summary>
    private sealed class NoServices : IServiceProvider
    {
        public static readonly NoServices Instance = new();

        public object? GetService(Type serviceType) => null;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "Now listening on: {Address}")]
        public static partial void Listening(ILogger logger, string address);

        [LoggerMessage(EventId = 21, Level = LogLevel.Information, Message = "Stopping: no new requests; those in flight may finish")]
        public static partial void Stopping(ILogger logger);

        [LoggerMessage(EventId = 22, Level = LogLevel.Error, Message = "{Service} did not stop cleanly")]
        public static partial void StopFailed(ILogger logger, string service, Exception exception);
    }
}
