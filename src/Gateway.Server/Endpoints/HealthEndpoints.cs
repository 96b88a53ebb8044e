using Gateway.Core;
using Microsoft.AspNetCore.Http;

namespace Gateway.Server.Endpoints;

/// <summary><c>/health</c>: the process answers. <c>/ready</c>: a configuration is loaded and the data folder is usable.</summary>
internal sealed class HealthEndpoints(SnapshotHolder snapshots)
{
    public static Task HealthAsync(HttpContext context)
    {
        context.Response.ContentType = "application/json";
        return context.Response.Body.WriteAsync("{\"status\":\"ok\"}"u8.ToArray()).AsTask();
    }

    public Task ReadyAsync(HttpContext context)
    {
        var snapshot = snapshots.Current;
        bool dataDirOk = Directory.Exists(snapshot.Config.Storage.DataDir);
        context.Response.StatusCode = dataDirOk ? 200 : 503;
        context.Response.ContentType = "application/json";
        string body = dataDirOk
            ? $"{{\"status\":\"ready\",\"config_version\":{snapshot.Version}}}"
            : "{\"status\":\"not_ready\",\"reason\":\"data directory missing\"}";
        return context.Response.WriteAsync(body);
    }
}
