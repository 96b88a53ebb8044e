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
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Hosting;

/// <summary>Builds the gateway web application: configuration, services, middleware, endpoints.</summary>
public static partial class GatewayHost
{
    public static (WebApplication? App, IReadOnlyList<string> Errors) Create(GatewayHostOptions options)
    {
        var load = ConfigLoader.LoadFile(Gateway.Providers.BuiltInProviders.Catalog, options.ConfigPath, options.Environment);
        if (!load.IsValid) return (null, load.Errors);
        var config = load.Config!;
        string urls = options.Urls ?? config.Server.Urls;

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

        // The store: opened and brought to the current schema before anything listens.
        var (storeLocation, storeProblem) = StorageLocation.Parse(config.Storage.Database, config.Storage.DataDir);
        if (storeProblem is not null) return (null, [storeProblem]);
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
            var (_, _, redisProblem) = Gateway.Storage.Redis.RedisConnection.Parse(redisUrl);
            if (redisProblem is not null) return (null, [redisProblem]);
            if (store is null) return (null, ["storage.redis shares limits and budgets between replicas, which also need one database: set storage.database (a postgres:// URL)"]);
            long cluster;
            try
            {
                cluster = store.ClusterId();
            }
            catch (StorageException ex)
            {
                throw new GatewayStartException("cannot read the store's cluster id: " + ex.Message, ex);
            }
            redis = Gateway.Storage.Redis.RedisConnection.Open(redisUrl, cluster.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (config.Cache.Store == CacheConfig.RedisStore && redis is null)
            return (null, ["cache.store: \"redis\" keeps the cache in storage.redis (GATEWAY_REDIS_URL), which is not set"]);
        if (config.Cache.Store == CacheConfig.DatabaseStore && store is null)
            return (null, ["cache.store: \"database\" keeps the cache in the store's database, and storage.database is \"none\": use \"memory\", or give the gateway a store"]);
        if (config.Cache.Store == CacheConfig.SqliteStore && store?.Sqlite is null)
            return (null, [store is null
                ? "cache.store: \"sqlite\" keeps the cache in the store's database, and storage.database is \"none\": use \"memory\", or give the gateway a store"
                : "cache.store: \"sqlite\" keeps the cache in a SQLite store, and storage.database is PostgreSQL: use \"database\" (the same, in PostgreSQL) or \"redis\""]);

        // The empty builder: the gateway reads its own config file and environment, so the host's
        // defaults (appsettings.json, environment and command-line sources) only cost start time,
        // and appsettings' reload watched the whole working folder, data folder included: every
        // write to the store's WAL woke a watcher thread.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseKestrelCore().UseKestrelHttpsConfiguration();
        builder.WebHost.UseUrls(urls);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // The gateway enforces its own (hot-reloadable) limit and answers 413 in the OpenAI shape.
            kestrel.Limits.MaxRequestBodySize = null;
        });

        builder.Logging.ClearProviders();
        if (config.Server.LogFormat == ServerConfig.JsonLogs)
        {
            builder.Logging.AddJsonConsole(o =>
            {
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.JsonWriterOptions = new System.Text.Json.JsonWriterOptions { Indented = false };
            });
        }
        else
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
            });
        }
        var level = options.Environment.TryGetValue("GATEWAY_LOG_LEVEL", out var lv) && Enum.TryParse<LogLevel>(lv, true, out var parsed) ? parsed : LogLevel.Information;
        builder.Logging.SetMinimumLevel(level);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        // The host logs a failed start (a port in use) with the whole exception, then throws it; the
        // CLI says it in one line instead (GatewayCli.ServeAsync). The gateway's own hosted services
        // catch and log their failures themselves.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        // With this category enabled at any level, ASP.NET Core starts an Activity and a log scope
        // per request (4.5% of a proxied request's CPU in the profile); it only ever logs request
        // start/finish, which the gateway's own request log covers.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        builder.Logging.AddFilter("System.Net.Http", LogLevel.Warning);
        builder.Logging.AddFilter(RequestLogSink.Category, LogLevel.Information);
        options.ConfigureLogging?.Invoke(builder.Logging);

        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(options.Time);
        services.AddSingleton<UpstreamHandlerPool>();
        services.AddSingleton<ProviderFactory>();
        var secretBox = SecretBox.FromBase64(options.Environment.GetValueOrDefault(SecretBox.Variable), out var secretProblem);
        services.AddSingleton(new DirectoryHolder());
        var sharedGovernor = redis is null ? null : new Gateway.Storage.Redis.RedisGovernor(redis);
        services.AddSingleton(sp =>
        {
            var governor = new Governor(options.Time, sp.GetRequiredService<ILogger<Governor>>());
            // The admin API shows a budget's spend as Redis counts it for all replicas (a read there; this replica's own view if Redis cannot say).
            if (sharedGovernor is not null)
                governor.SharedSpend = (scope, id, budget) =>
                {
                    try
                    {
                        return sharedGovernor.SpendAsync(new GovernedScope(scope, id, RateLimits.None, budget, governor.Counters(scope, id)),
                            options.Time.GetUtcNow().ToUnixTimeMilliseconds()).AsTask().GetAwaiter().GetResult();
                    }
                    catch (SharedStoreException)
                    {
                        return null;
                    }
                };
            return governor;
        });
        if (redis is not null)
        {
            services.AddSingleton(_ => redis);
            services.AddSingleton(sp => new Gateway.Storage.Redis.RedisBroadcast(redis, () => sp.GetRequiredService<GovernanceSync>().Apply(),
                warning => Log.SharedStore(sp.GetRequiredService<ILoggerFactory>().CreateLogger("Gateway.Scale"), warning)));
        }
        services.AddSingleton(sp => new GovernanceGate(sp.GetRequiredService<Governor>(), options.Time, sp.GetRequiredService<ILogger<GovernanceGate>>(),
            sharedGovernor, sp.GetService<IGovernanceStore>(),
            sp.GetService<Gateway.Storage.Redis.RedisBroadcast>() is { } broadcast ? () => broadcast.Replicas : null));
        services.AddSingleton(sp => new StoredProviders(sp.GetService<IGovernanceStore>(), secretBox, secretProblem, Gateway.Providers.BuiltInProviders.Catalog, options.Environment));
        services.AddSingleton(sp => new SnapshotFactory(sp.GetRequiredService<ProviderFactory>(), bootstrapHash, sp.GetRequiredService<DeploymentStates>(), options.Time, options.Random,
            sp.GetRequiredService<StoredProviders>(), sp.GetRequiredService<Governor>()));
        services.AddSingleton(sp => new SnapshotHolder(sp.GetRequiredService<SnapshotFactory>().Build(config)));
        services.AddSingleton<PolicyRegistry>();
        services.AddSingleton<RetryBudget>();
        services.AddSingleton(new DeploymentStates(options.Time));
        services.AddHostedService<PolicyMeterReporter>();
        // The store is chosen at start, like the database: a reload does not move the entries.
        services.AddSingleton<IResponseCacheStore>(_ => config.Cache.Store switch
        {
            CacheConfig.SqliteStore => new SqliteCacheStore(store!.Sqlite!, config.Cache.MaxBytes, options.Time.GetUtcNow().ToUnixTimeMilliseconds()),
            CacheConfig.DatabaseStore when store!.Postgres is { } postgres => new Gateway.Storage.Postgres.PostgresCacheStore(postgres, config.Cache.MaxBytes),
            CacheConfig.DatabaseStore => new SqliteCacheStore(store.Sqlite!, config.Cache.MaxBytes, options.Time.GetUtcNow().ToUnixTimeMilliseconds()),
            CacheConfig.RedisStore => new Gateway.Storage.Redis.RedisCacheStore(redis!, config.Cache.MaxBytes),
            _ => new MemoryCacheStore(config.Cache.MaxBytes),
        });
        services.AddSingleton(sp => new Embedders(() => sp.GetRequiredService<SnapshotHolder>().Current,
            LocalEmbedder.Locate(config.Cache.LocalEmbedder, options.Environment.GetValueOrDefault("GATEWAY_EMBEDDER")), options.Time, sp.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton(sp => new ResponseCache(sp.GetRequiredService<IResponseCacheStore>(), new SemanticIndex(config.Cache.SemanticMaxVectors),
            sp.GetRequiredService<Embedders>().For, options.Time, sp.GetRequiredService<ILogger<ResponseCache>>()));
        services.AddSingleton<ModelPipeline>();
        services.AddSingleton<RequestLogSink>();
        services.AddSingleton<IRequestSink>(sp => sp.GetRequiredService<RequestLogSink>());
        if (store is not null)
        {
            // Made by a factory, so the container disposes it (the usage ledger's last commits, the pool) after the hosted services stop.
            services.AddSingleton(_ => store);
            services.AddSingleton(store.RequestLog);
            if (store.Ledger is { } ledger)
                services.AddSingleton(sp => new UsageSettlement(ledger, options.Time, sp.GetRequiredService<ILogger<UsageSettlement>>()));
            services.AddSingleton(sp => new StoreRequestSink(sp.GetRequiredService<IRequestLogStore>(), options.Time, config.Storage.LogRetention,
                sp.GetRequiredService<ILogger<StoreRequestSink>>()));
            services.AddSingleton<IRequestSink>(sp => sp.GetRequiredService<StoreRequestSink>());
            services.AddHostedService(sp => sp.GetRequiredService<StoreRequestSink>());
            services.AddSingleton(store.Governance);
            services.AddSingleton(sp => new GovernanceSync(sp.GetRequiredService<IGovernanceStore>(), sp.GetRequiredService<DirectoryHolder>(),
                sp.GetRequiredService<Governor>(), options.Time, sp.GetRequiredService<ILogger<GovernanceSync>>()));
            services.AddHostedService(sp =>
            {
                var sync = sp.GetRequiredService<GovernanceSync>();
                sync.Broadcast = sp.GetService<Gateway.Storage.Redis.RedisBroadcast>();
                var stored = sp.GetRequiredService<StoredProviders>();
                var factory = sp.GetRequiredService<SnapshotFactory>();
                var snapshots = sp.GetRequiredService<SnapshotHolder>();
                sync.ProvidersChanged = () =>
                {
                    stored.Load();
                    factory.Republish(snapshots);
                };
                if (sharedGovernor is not null)
                {
                    var gate = sp.GetRequiredService<GovernanceGate>();
                    sync.SharedTick = () => snapshots.Current.DeploymentBudgets.Count == 0 ? Task.CompletedTask
                        : gate.ObserveDeploymentBudgetsAsync(snapshots.Current.DeploymentBudgets.Values);
                }
                return sync;
            });
        }
        services.AddSingleton(sp => new AdminApi(sp.GetRequiredService<SnapshotHolder>(), sp.GetRequiredService<DirectoryHolder>(), sp.GetRequiredService<Governor>(),
            sp.GetRequiredService<StoredProviders>(), sp.GetRequiredService<SnapshotFactory>(), options.Time, sp.GetRequiredService<ILogger<AdminApi>>(),
            sp.GetService<IGovernanceStore>(), sp.GetService<GovernanceSync>(), sp.GetRequiredService<PolicyRegistry>(), sp.GetRequiredService<ResponseCache>()));
        services.AddSingleton(sp =>
        {
            var metrics = new GatewayMetrics(sp.GetRequiredService<DeploymentStates>(),
                sp.GetService<StoreRequestSink>() is { } storeSink ? () => storeSink.Dropped : null,
                genAi: sp.GetService<Observability.Otlp.OtlpMetricsOptions>() is not null, cache: sp.GetRequiredService<IResponseCacheStore>());
            var gate = sp.GetRequiredService<GovernanceGate>();
            var settlement = sp.GetService<UsageSettlement>();
            if (gate.Shared || settlement is not null)
                metrics.ScaleOut = () => (gate.SharedHealthy, gate.SharedFailures, settlement?.Failures ?? 0);
            return metrics;
        });
        services.AddSingleton<IRequestSink>(sp => new MetricsSink(sp.GetRequiredService<GatewayMetrics>(), sp.GetRequiredService<SnapshotHolder>()));
        services.AddSingleton<MetricsEndpoint>();
        services.AddSingleton<Gateway.Server.WebConsole.ConsoleEndpoint>();
        try
        {
            OpenTelemetrySetup.AddIfConfigured(services, options.Environment, options.Time);
        }
        catch (Exception ex) when (ex is ArgumentException or UriFormatException)
        {
            return (null, [ex.Message]);
        }
        // Without an OTLP endpoint nothing is recorded, but a client's trace still reaches the provider.
        services.TryAddSingleton(_ => Observability.Tracing.GatewayTracer.Passthrough(options.Time));
        services.AddSingleton<ModelsEndpoint>();
        services.AddSingleton<HealthEndpoints>();
        services.AddSingleton<GatewayRouter>();
        services.AddSingleton<ConfigWatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<ConfigWatcher>());
        options.ConfigureServices?.Invoke(services);

        var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Gateway");
        foreach (var warning in load.Warnings) Log.ConfigWarning(logger, warning);
        // A configured policy that does not compile stops the start: running without it would skip the operator's rules.
        var policies = app.Services.GetRequiredService<PolicyRegistry>();
        var policyErrors = new List<string>();
        if (policies.Build(config.Policies, policyErrors, config.Server) is not { } policySet) return (null, policyErrors);
        // Stored tenants, teams, keys, spend and providers are read before anything listens.
        try
        {
            app.Services.GetService<GovernanceSync>()?.Start();
            app.Services.GetRequiredService<StoredProviders>().Load();
        }
        catch (Exception ex) when (GatewayStore.IsStoreFailure(ex) || ex is InvalidDataException or InvalidOperationException)
        {
            throw new GatewayStartException($"cannot read the governance data in the store: {ex.Message}", ex);
        }
        SnapshotHolder holder;
        try
        {
            holder = app.Services.GetRequiredService<SnapshotHolder>();
        }
        catch (ArgumentException ex)
        {
            return (null, [ex.Message]);
        }
        var snapshot = holder.Current.WithPolicies(policySet);
        holder.Swap(snapshot);
        policies.Activate(policySet);
        if (PromptTokens.LoadError is { } tokenizerError) Log.TokenizerUnavailable(logger, tokenizerError);
        Log.Started(logger, options.ConfigPath ?? "(none: defaults and environment)",
            string.Join(", ", config.Providers.Values.OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => $"{p.Name} ({p.Type}, {p.Origin})")),
            config.Models.Count, snapshot.Keys.Count);
        if (bootstrapHash is not null && SnapshotFactory.HasAdminKey(config))
            Log.BootstrapKeySuperseded(logger, Path.Combine(config.Storage.DataDir, AdminKeyBootstrap.FileName));

        var pipeline = app.Services.GetRequiredService<ModelPipeline>();
        app.Services.GetRequiredService<Embedders>().WarmUp(config.Cache);
        var models = app.Services.GetRequiredService<ModelsEndpoint>();
        var health = app.Services.GetRequiredService<HealthEndpoints>();
        var router = app.Services.GetRequiredService<GatewayRouter>();
        InboundRoutes.Add(router, pipeline);
        router.Add("GET", "/v1/models", models.ListAsync).Add("GET", "/models", models.ListAsync);
        router.Add("GET", "/health", HealthEndpoints.HealthAsync).Add("GET", "/ready", health.ReadyAsync)
            .Add("GET", "/metrics", app.Services.GetRequiredService<MetricsEndpoint>().ScrapeAsync)
            .AddPrefix(AdminApi.Prefix, app.Services.GetRequiredService<AdminApi>().HandleAsync);
        var console = app.Services.GetRequiredService<Gateway.Server.WebConsole.ConsoleEndpoint>();
        router.AddPrefix(Gateway.Server.WebConsole.ConsoleEndpoint.Prefix, console.ServeAsync).Add("GET", "/favicon.ico", console.FaviconAsync);
        app.Run(router.DispatchAsync);
        return (app, []);
    }

    private static string ListenUrlForHumans(string urls)
    {
        string first = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "http://127.0.0.1:8080";
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
