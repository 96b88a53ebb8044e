using Gateway.Core;
using Gateway.Core.Caching;
using Gateway.Core.Config;
using Gateway.Core.Errors;
using Gateway.Core.Routing;
using Gateway.Policies;
using Gateway.Providers;
using Gateway.Providers.Http;
using Gateway.Core.Governance;
using Gateway.Server.Admin;
using Gateway.Server.Caching;
using Gateway.Server.Endpoints;
using Gateway.Server.Governance;
using Gateway.Server.Http;
using Gateway.Server.Observability;
using Gateway.Server.Pipeline;
using Gateway.Server.Pipeline.Dialects;
using Gateway.Storage;
using Gateway.Storage.Sqlite;
using Gateway.Server.Observability.Otlp;
using Gateway.Server.Observability.Tracing;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Hosting;

/// <summary>Builds the gateway: configuration, store, services, routes, and the server that will run them.</summary>
internal static partial class GatewayHost
{
    public static (GatewayApp? App, IReadOnlyList<string> Errors) Create(GatewayHostOptions options)
    {
        var load = ConfigLoader.LoadFile(Gateway.Providers.BuiltInProviders.Catalog, options.ConfigPath, options.Environment);
        if (!load.IsValid) return (null, load.Errors);
        var config = load.Config!;
        string[] urls = (options.Urls ?? config.Server.Urls).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        // Kestrel would need a certificate, and the gateway configures none: TLS ends in front of it.
        if (urls.FirstOrDefault(u => u.StartsWith("https:", StringComparison.OrdinalIgnoreCase)) is { } https)
            throw new GatewayStartException($"{https}: the gateway listens on http:// only; end TLS in front of it (a load balancer, an ingress, nginx) and give it an http:// address.");

        // The data folder is made by whatever first needs it (the first-start key, later the store), not here.
        byte[]? bootstrapHash;
        try
        {
            bootstrapHash = AdminKeyBootstrap.Ensure(config, ListenUrlForHumans(urls), options.Banner);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new GatewayStartException($"cannot keep the first-start admin key in {Path.GetFullPath(config.Storage.DataDir)}: {ex.Message} "
                + "Make the folder writable, point GATEWAY_DATA_DIR elsewhere, or set GATEWAY_MASTER_KEY.", ex);
        }

        // What the store, Redis and the cache ask of each other, checked before anything is opened.
        var (storeLocation, storeProblem) = StorageLocation.Parse(config.Storage.Database, config.Storage.DataDir);
        if (storeProblem is not null) return (null, [storeProblem]);
        if (config.Storage.Redis is { } redisSetting)
        {
            var (_, _, redisProblem) = Gateway.Storage.Redis.RedisConnection.Parse(redisSetting);
            if (redisProblem is not null) return (null, [redisProblem]);
            if (storeLocation is null) return (null, ["storage.redis shares limits and budgets between replicas, which also need one database: set storage.database (a postgres:// URL)"]);
        }
        if (config.Cache.Store == CacheConfig.RedisStore && config.Storage.Redis is null)
            return (null, ["cache.store: \"redis\" keeps the cache in storage.redis (GATEWAY_REDIS_URL), which is not set"]);
        if (config.Cache.Store == CacheConfig.DatabaseStore && storeLocation is null)
            return (null, ["cache.store: \"database\" keeps the cache in the store's database, and storage.database is \"none\": use \"memory\", or give the gateway a store"]);
        if (config.Cache.Store == CacheConfig.SqliteStore && storeLocation is not { IsPostgres: false })
            return (null, [storeLocation is null
                ? "cache.store: \"sqlite\" keeps the cache in the store's database, and storage.database is \"none\": use \"memory\", or give the gateway a store"
                : "cache.store: \"sqlite\" keeps the cache in a SQLite store, and storage.database is PostgreSQL: use \"database\" (the same, in PostgreSQL) or \"redis\""]);

        // The store: opened and brought to the current schema before anything listens.
        GatewayStore? store = null;
        if (storeLocation is not null)
        {
            try
            {
                store = GatewayStore.Open(storeLocation).Store;
            }
            catch (StorageException ex)
            {
                throw new GatewayStartException(ex.Message + (storeLocation.IsPostgres
                    ? ". Check that the PostgreSQL server is up and the URL in storage.database or GATEWAY_DATABASE_URL is right."
                    : ". Make the folder writable, point GATEWAY_DATA_DIR or storage.database elsewhere, or set storage.database to \"none\"."), ex);
            }
        }

        // Redis, when replicas share one: connected in the background (a Redis that is not up yet does not stop the start).
        Gateway.Storage.Redis.RedisConnection? redis = null;
        if (config.Storage.Redis is { } redisUrl)
        {
            long cluster;
            try
            {
                cluster = store!.ClusterId();
            }
            catch (StorageException ex)
            {
                Dispose([store!]);
                throw new GatewayStartException("cannot read the store's cluster id: " + ex.Message, ex);
            }
            redis = Gateway.Storage.Redis.RedisConnection.Open(redisUrl, cluster.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var loggers = CreateLoggers(config, options);
        var logger = loggers.CreateLogger("Gateway");
        // Built by hand, in the order each part needs the others: the generic host's dependency injection
        // made its generic types at run time in the native binary (the type loader), most of the start.
        var owned = new List<object>(); // disposed in reverse when the app is
        T Own<T>(T part) where T : notnull
        {
            owned.Add(part);
            return part;
        }
        if (store is not null) Own(store);       // last to go: the usage ledger's last commits, the pool
        if (redis is not null) Own(redis);
        var time = options.Time;
        var handlers = Own(new UpstreamHandlerPool());
        var providers = new ProviderFactory(handlers, loggers, time);
        var secretBox = SecretBox.FromBase64(options.Environment.GetValueOrDefault(SecretBox.Variable), out var secretProblem);
        var directory = new DirectoryHolder();
        var sharedGovernor = redis is null ? null : new Gateway.Storage.Redis.RedisGovernor(redis);
        var governor = new Governor(time, loggers.CreateLogger<Governor>());
        // The admin API shows a budget's spend as Redis counts it for all replicas (a read there; this replica's own view if Redis cannot say).
        if (sharedGovernor is not null)
            governor.SharedSpend = (scope, id, budget) =>
            {
                try
                {
                    return sharedGovernor.SpendAsync(new GovernedScope(scope, id, RateLimits.None, budget, governor.Counters(scope, id)),
                        time.GetUtcNow().ToUnixTimeMilliseconds()).AsTask().GetAwaiter().GetResult();
                }
                catch (SharedStoreException)
                {
                    return null;
                }
            };
        GovernanceSync? sync = null;
        // An announcement that arrives before the sync exists needs nothing: the sync's start reads the store.
        var broadcast = redis is null ? null : Own(new Gateway.Storage.Redis.RedisBroadcast(redis, () => sync?.Apply(),
            warning => Log.SharedStore(loggers.CreateLogger("Gateway.Scale"), warning)));
        var governanceStore = store?.Governance;
        var gate = new GovernanceGate(governor, time, loggers.CreateLogger<GovernanceGate>(), sharedGovernor, governanceStore,
            broadcast is null ? null : () => broadcast.Replicas);
        var stored = new StoredProviders(governanceStore, secretBox, secretProblem, Gateway.Providers.BuiltInProviders.Catalog, options.Environment);
        var deploymentStates = new DeploymentStates(time);
        var factory = new SnapshotFactory(providers, bootstrapHash, deploymentStates, time, options.Random, stored, governor);
        var policies = Own(new PolicyRegistry(loggers.CreateLogger<PolicyRegistry>()));
        var background = new List<Microsoft.Extensions.Hosting.IHostedService> { Own(new PolicyMeterReporter(policies, options, loggers.CreateLogger<PolicyMeterReporter>())) };
        StoreRequestSink? storeSink = null;
        UsageSettlement? settlement = null;
        if (store is not null)
        {
            if (store.Ledger is { } ledger) settlement = new UsageSettlement(ledger, time, loggers.CreateLogger<UsageSettlement>());
            storeSink = Own(new StoreRequestSink(store.RequestLog, time, config.Storage.LogRetention, loggers.CreateLogger<StoreRequestSink>()));
            background.Add(storeSink);
            sync = Own(new GovernanceSync(store.Governance, directory, governor, time, loggers.CreateLogger<GovernanceSync>()) { Broadcast = broadcast });
            background.Add(sync);
        }

        foreach (var warning in load.Warnings) Log.ConfigWarning(logger, warning);
        // A configured policy that does not compile stops the start: running without it would skip the operator's rules.
        var policyErrors = new List<string>();
        if (policies.Build(config.Policies, policyErrors, config.Server) is not { } policySet) return Fail(policyErrors);
        // Stored tenants, teams, keys, spend and providers are read before anything listens.
        try
        {
            sync?.Start();
            stored.Load();
        }
        catch (Exception ex) when (GatewayStore.IsStoreFailure(ex) || ex is InvalidDataException or InvalidOperationException)
        {
            Dispose(owned);
            throw new GatewayStartException($"cannot read the governance data in the store: {ex.Message}", ex);
        }
        SnapshotHolder holder;
        try
        {
            holder = new SnapshotHolder(factory.Build(config));
        }
        catch (ArgumentException ex)
        {
            return Fail([ex.Message]);
        }
        if (sync is not null)
        {
            sync.ProvidersChanged = () =>
            {
                stored.Load();
                factory.Republish(holder);
            };
            if (sharedGovernor is not null)
                sync.SharedTick = () => holder.Current.DeploymentBudgets.Count == 0 ? Task.CompletedTask
                    : gate.ObserveDeploymentBudgetsAsync(holder.Current.DeploymentBudgets.Values);
        }

        // The store is chosen at start, like the database: a reload does not move the entries.
        IResponseCacheStore cacheStore = config.Cache.Store switch
        {
            CacheConfig.SqliteStore => new SqliteCacheStore(store!.Sqlite!, config.Cache.MaxBytes, time.GetUtcNow().ToUnixTimeMilliseconds()),
            CacheConfig.DatabaseStore when store!.Postgres is { } postgres => new Gateway.Storage.Postgres.PostgresCacheStore(postgres, config.Cache.MaxBytes),
            CacheConfig.DatabaseStore => new SqliteCacheStore(store.Sqlite!, config.Cache.MaxBytes, time.GetUtcNow().ToUnixTimeMilliseconds()),
            CacheConfig.RedisStore => new Gateway.Storage.Redis.RedisCacheStore(redis!, config.Cache.MaxBytes),
            _ => new MemoryCacheStore(config.Cache.MaxBytes),
        };
        Own(cacheStore);
        var embedders = Own(new Embedders(() => holder.Current,
            LocalEmbedder.Locate(config.Cache.LocalEmbedder, options.Environment.GetValueOrDefault("GATEWAY_EMBEDDER")), time, loggers));
        var cache = new ResponseCache(cacheStore, new SemanticIndex(config.Cache.SemanticMaxVectors), embedders.For, time, loggers.CreateLogger<ResponseCache>());
        var pipeline = new ModelPipeline(new RetryBudget(), gate, directory, cache, loggers.CreateLogger<ModelPipeline>());
        var requestLog = new RequestLogSink(holder, loggers);
        var admin = new AdminApi(holder, directory, governor, stored, factory, time, loggers.CreateLogger<AdminApi>(), governanceStore, sync, policies, cache);
        OtlpSettings otlp;
        try
        {
            otlp = OpenTelemetrySetup.Read(options.Environment);
        }
        catch (Exception ex) when (ex is ArgumentException or UriFormatException)
        {
            return Fail([ex.Message]);
        }
        var metrics = new GatewayMetrics(deploymentStates, storeSink is null ? null : () => storeSink.Dropped, genAi: otlp.Metrics is not null, cache: cacheStore);
        metrics.PolicyWorkers = () => policies.StartedRunner is { } runner ? (runner.Queued, runner.Workers, runner.Stuck) : null;
        if (gate.Shared || settlement is not null)
            metrics.ScaleOut = () => (gate.SharedHealthy, gate.SharedFailures, settlement?.Failures ?? 0);
        if (otlp.Metrics is { } metricsExport)
            background.Add(Own(new OtlpMetricsExporter(metricsExport, metrics, time, loggers.CreateLogger<OtlpMetricsExporter>())));
        // Without an OTLP endpoint nothing is recorded, but a client's trace still reaches the provider.
        var tracer = GatewayTracer.Passthrough(time);
        if (otlp.Traces is { } traceExport)
        {
            var traceExporter = Own(new OtlpTraceExporter(traceExport, loggers.CreateLogger<OtlpTraceExporter>()));
            background.Add(traceExporter);
            tracer = new GatewayTracer(traceExporter, otlp.Sampler!, time, Random.Shared);
        }
        var watcher = Own(new ConfigWatcher(options, holder, factory, policies, loggers.CreateLogger<ConfigWatcher>()));
        background.Add(watcher);
        IRequestSink[] sinks = [requestLog, .. storeSink is null ? Array.Empty<IRequestSink>() : [storeSink], new MetricsSink(metrics, holder), .. options.ExtraSinks];
        var router = new GatewayRouter(holder, loggers, sinks, requestLog, gate, tracer, settlement);

        var snapshot = holder.Current.WithPolicies(policySet);
        holder.Swap(snapshot);
        policies.Activate(policySet);
        if (PromptTokens.LoadError is { } tokenizerError) Log.TokenizerUnavailable(logger, tokenizerError);
        Log.Started(logger, options.ConfigPath ?? "(none: defaults and environment)",
            string.Join(", ", config.Providers.Values.OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => $"{p.Name} ({p.Type}, {p.Origin})")),
            config.Models.Count, snapshot.Keys.Count);
        if (bootstrapHash is not null && SnapshotFactory.HasAdminKey(config))
            Log.BootstrapKeySuperseded(logger, Path.Combine(config.Storage.DataDir, AdminKeyBootstrap.FileName));

        embedders.WarmUp(config.Cache);
        var models = new ModelsEndpoint(holder, directory, time);
        var health = new HealthEndpoints(holder, watcher, gate, governanceStore, store, redis, broadcast);
        InboundRoutes.Add(router, pipeline);
        router.Add("GET", "/v1/models", models.ListAsync).Add("GET", "/models", models.ListAsync);
        router.Add("GET", "/health", HealthEndpoints.HealthAsync).Add("GET", "/ready", health.ReadyAsync)
            .Add("GET", "/metrics", new MetricsEndpoint(metrics, holder, directory).ScrapeAsync)
            .AddPrefix(AdminApi.Prefix, admin.HandleAsync);
        var console = new Gateway.Server.WebConsole.ConsoleEndpoint(holder);
        router.AddPrefix(Gateway.Server.WebConsole.ConsoleEndpoint.Prefix, console.ServeAsync).Add("GET", "/favicon.ico", console.FaviconAsync);

        var parts = new GatewayParts(holder, deploymentStates, policies, watcher, metrics);
        return (new GatewayApp(urls, router.DispatchAsync, loggers, background, owned, parts), []);

        (GatewayApp?, IReadOnlyList<string>) Fail(IReadOnlyList<string> errors)
        {
            Dispose(owned);
            loggers.Dispose();
            return (null, errors);
        }
    }

    /// <summary>The log lines' writer (text or JSON on standard output, plus a test's provider) and which categories write at which level.</summary>
    private static LoggerFactory CreateLoggers(GatewayConfig config, GatewayHostOptions options)
    {
        var level = options.Environment.TryGetValue("GATEWAY_LOG_LEVEL", out var lv) && Enum.TryParse<LogLevel>(lv, true, out var parsed) ? parsed : LogLevel.Information;
        var filters = new LoggerFilterOptions { MinLevel = level };
        void Rule(string category, LogLevel at) => filters.Rules.Add(new LoggerFilterRule(null, category, at, null));
        Rule("Microsoft", LogLevel.Warning);
        Rule("System.Net.Http", LogLevel.Warning);
        // The request line, switched on by server.logRequests whatever the general level.
        Rule(RequestLogSink.Category, LogLevel.Information);
        Rule(GatewayApp.LifetimeCategory, LogLevel.Information);
        ILoggerProvider[] providers = [new LineLoggerProvider(options.LogOutput ?? Console.Out, config.Server.LogFormat == ServerConfig.JsonLogs, options.Time),
            .. options.ExtraLogs is { } extra ? [extra] : Array.Empty<ILoggerProvider>()];
        return new LoggerFactory(providers, filters);
    }

    /// <summary>A start given up half way: what was made so far is released (the store's connections, Redis, handlers).</summary>
    private static void Dispose(List<object> owned) => GatewayApp.DisposeAllAsync(owned).AsTask().GetAwaiter().GetResult();

    private static string ListenUrlForHumans(string[] urls)
    {
        string first = urls.FirstOrDefault() ?? "http://127.0.0.1:8080";
        return first.Replace("://*", "://127.0.0.1", StringComparison.Ordinal).Replace("://+", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal).Replace("://[::]", "://127.0.0.1", StringComparison.Ordinal).TrimEnd('/');
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Gateway configured from {Config}: providers {Providers}; {Aliases} model aliases; {Keys} keys")]
        public static partial void Started(ILogger logger, string config, string providers, int aliases, int keys);

        [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "The first-start admin key ({File}) no longer works: an admin key is configured (GATEWAY_MASTER_KEY or a key with \"admin\": true). Delete the file to be rid of it.")]
        public static partial void BootstrapKeySuperseded(ILogger logger, string file);

        [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "The tokenizer's vocabulary did not load ({Error}): groups that weigh tokens route by estimates (four characters a token)")]
        public static partial void TokenizerUnavailable(ILogger logger, string error);

        [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "Shared store: {Warning}")]
        public static partial void SharedStore(ILogger logger, string warning);

        [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Configuration: {Warning}")]
        public static partial void ConfigWarning(ILogger logger, string warning);
    }
}

/// <summary>The gateway cannot start for a reason an operator fixes outside the configuration (a folder, a port): one line says which.</summary>
public sealed class GatewayStartException(string message, Exception? inner = null) : Exception(message, inner);
