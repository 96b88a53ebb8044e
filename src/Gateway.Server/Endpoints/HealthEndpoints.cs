using Gateway.Core;
using Microsoft.AspNetCore.Http;

namespace Gateway.Server.Endpoints;

/// <summary>
/// <c>/health</c>: the process answers. <c>/ready</c>: a configuration is loaded and the data folder is usable
/// (else 503), and how the shared stores are: a replica whose database or Redis is unreachable still serves
/// (limits on its share, budgets refused, usage kept for later), so it stays ready (200) with
/// <c>"status": "degraded"</c> and the reason; taking every replica out of a load balancer would be worse.
/// </summary>
internal sealed class HealthEndpoints(SnapshotHolder snapshots, Hosting.ConfigWatcher watcher, Governance.GovernanceGate? gate = null,
    Gateway.Core.Governance.IGovernanceStore? store = null, Gateway.Storage.GatewayStore? opened = null, Gateway.Storage.Redis.RedisConnection? redis = null,
    Gateway.Storage.Redis.RedisBroadcast? broadcast = null)
{
    private long _storeCheckedAt;
    private int _probing;
    private volatile string? _storeProblem;

    /// <summary>
    /// Whether the database answered a one-row read, as last seen: asked at most once a second and in the
    /// background, so a probe never waits on a database that hangs (a connect may take its whole timeout).
    /// </summary>
    private string? StoreProblem()
    {
        if (store is null) return null;
        long now = Environment.TickCount64;
        if (now - Interlocked.Read(ref _storeCheckedAt) >= 1000 && Interlocked.CompareExchange(ref _probing, 1, 0) == 0)
        {
            Interlocked.Exchange(ref _storeCheckedAt, now);
            _ = Task.Run(() =>
            {
                try
                {
                    store.DirectoryVersion();
                    _storeProblem = null;
                }
                catch (Exception ex) when (Gateway.Storage.GatewayStore.IsStoreFailure(ex))
                {
                    _storeProblem = ex.Message;
                }
                finally
                {
                    Volatile.Write(ref _probing, 0);
                }
            });
        }
        return _storeProblem;
    }

    public static Task HealthAsync(HttpContext context)
    {
        context.Response.ContentType = "application/json";
        return context.Response.Body.WriteAsync("{\"status\":\"ok\"}"u8.ToArray()).AsTask();
    }

    public Task ReadyAsync(HttpContext context)
    {
        var snapshot = snapshots.Current;
        // A folder not made yet is fine (it is made when first needed); one whose parent is gone is not.
        string dataDir = Path.GetFullPath(snapshot.Config.Storage.DataDir);
        bool dataDirOk = Directory.Exists(dataDir) || Directory.Exists(Path.GetDirectoryName(dataDir));
        string? storeProblem = StoreProblem();
        bool redisOk = redis is null || (redis.IsConnected && gate?.SharedHealthy != false);
        context.Response.StatusCode = dataDirOk ? 200 : 503;
        context.Response.ContentType = "application/json";
        using var buffer = new MemoryStream();
        using (var w = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("status", !dataDirOk ? "not_ready" : storeProblem is null && redisOk ? "ready" : "degraded");
            if (!dataDirOk) w.WriteString("reason", "data directory missing");
            if (opened is not null)
            {
                w.WriteStartObject("store");
                w.WriteString("engine", opened.Postgres is not null ? "postgres" : "sqlite");
                w.WriteString("status", storeProblem is null ? "ok" : "unreachable");
                if (storeProblem is not null) w.WriteString("reason", storeProblem + "; requests are served, their usage is kept until it can be written");
                w.WriteEndObject();
            }
            if (redis is not null)
            {
                w.WriteStartObject("redis");
                w.WriteString("status", redisOk ? "ok" : "unreachable");
                if (!redisOk) w.WriteString("reason", "rate limits hold this replica's share, requests under a budget are refused (503 budget_unavailable) until Redis is back");
                if (broadcast is not null) w.WriteNumber("replicas", broadcast.Replicas);
                w.WriteEndObject();
            }
            w.WriteNumber("config_version", snapshot.Version);
            // Still ready (the last good configuration serves), but an operator should see that an edit did not take.
            if (watcher.LastFailure is { } failure)
            {
                w.WriteStartObject("last_reload");
                w.WriteString("status", "rejected");
                w.WriteString("at", failure.At);
                w.WriteString("reason", failure.Reason);
                w.WriteNumber("problems", failure.Problems);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return context.Response.Body.WriteAsync(buffer.ToArray()).AsTask();
    }
}
