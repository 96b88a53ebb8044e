using Gateway.Core;
using Microsoft.AspNetCore.Http;

namespace Gateway.Server.Endpoints;

/// <summary><c>/health</c>: the process answers. <c>/ready</c>: a configuration is loaded and the data folder is usable.</summary>
internal sealed class HealthEndpoints(SnapshotHolder snapshots, Hosting.ConfigWatcher watcher)
{
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
        context.Response.StatusCode = dataDirOk ? 200 : 503;
        context.Response.ContentType = "application/json";
        using var buffer = new MemoryStream();
        using (var w = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("status", dataDirOk ? "ready" : "not_ready");
            if (!dataDirOk) w.WriteString("reason", "data directory missing");
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
