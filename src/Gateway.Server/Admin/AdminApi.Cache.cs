using Gateway.Core.Caching;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Admin;

internal sealed partial class AdminApi
{
    /// <summary><c>GET /admin/v1/cache</c>: what the response cache holds.</summary>
    private byte[] CacheStats()
    {
        var stats = cache?.Store.Stats ?? default;
        return Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "cache");
            w.WriteString("store", snapshots.Current.Config.Cache.Store);
            w.WriteBoolean("enabled", snapshots.Current.Config.Cache.Enabled);
            w.WriteNumber("entries", stats.Entries);
            w.WriteNumber("bytes", stats.Bytes);
            w.WriteNumber("maxBytes", stats.MaxBytes);
            w.WriteNumber("evicted", stats.Evicted);
            w.WriteNumber("semanticVectors", cache?.Index.Count ?? 0);
            w.WriteEndObject();
        });
    }

    /// <summary>
    /// <c>DELETE /admin/v1/cache?tenant=&amp;key=&amp;model=</c>: the entries of a tenant (or of a key without one),
    /// of a model as routed (a group's name, or <c>provider/model</c>), of both, or, with neither, every entry.
    /// </summary>
    private async Task<byte[]> PurgeCacheAsync(HttpContext context, string actor)
    {
        var query = context.Request.Query;
        string? tenant = Query(query, "tenant"), key = Query(query, "key"), model = Query(query, "model");
        if (tenant is not null && key is not null)
            throw new AdminError(400, "invalid_request", "tenant or key, not both: a key with a tenant shares its tenant's entries, one without has its own");
        string? scope = tenant is not null ? "t:" + tenant : key is not null ? "k:" + key : null;
        long purged = cache is null ? 0 : await cache.PurgeAsync(scope, model, context.RequestAborted).ConfigureAwait(false);
        Log.CachePurged(logger, actor, scope ?? "every scope", model ?? "every model", purged);
        return Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "cache.purge");
            w.WriteNumber("purged", purged);
            w.WriteEndObject();
        });
    }
}
