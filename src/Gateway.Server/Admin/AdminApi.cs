using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Gateway.Core;
using Gateway.Core.Auth;
using Gateway.Core.Errors;
using Gateway.Core.Governance;
using Gateway.Server.Governance;
using Gateway.Server.Hosting;
using Gateway.Server.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Admin;

/// <summary>
/// The admin API under <c>/admin/v1</c> (DESIGN §8): tenants, teams, keys, stored providers, usage, request
/// logs and the audit log, for admin keys only. Every change is written with its audit entry in one
/// transaction, then the in-memory directory (or the snapshot, for providers) is rebuilt before the
/// answer goes out, so the next request sees it.
/// </summary>
internal sealed partial class AdminApi(
    SnapshotHolder snapshots, DirectoryHolder directory, Governor governor, StoredProviders providers, SnapshotFactory factory, TimeProvider time,
    ILogger<AdminApi> logger, IGovernanceStore? store = null, GovernanceSync? sync = null, Gateway.Policies.PolicyRegistry? policies = null,
    Caching.ResponseCache? cache = null)
{
    public const string Prefix = "/admin/v1";
    private const int MaxBody = 1024 * 1024;

    /// <summary>A refusal the handlers return as a value; written in the OpenAI error shape.</summary>
    private sealed class AdminError(int status, string code, string message) : Exception(message)
    {
        public GatewayError Error { get; } = new(status, status switch
        {
            401 => "authentication_error",
            403 => "permission_error",
            404 => "not_found_error",
            409 => "conflict_error",
            >= 500 => "server_error",
            _ => "invalid_request_error",
        }, code, message, status >= 500 ? ErrorSource.Gateway : ErrorSource.Client);
    }

    public async Task HandleAsync(HttpContext context)
    {
        var snapshot = snapshots.Current;
        var key = Authenticator.Authenticate(context, snapshot.Keys, directory.Current);
        if (key is null || Authenticator.IsExpired(key, time))
        {
            await ErrorResponses.WriteAsync(context, GatewayError.Unauthorized("The admin API needs an admin key: 'Authorization: Bearer <key>'.")).ConfigureAwait(false);
            return;
        }
        if (!key.Admin)
        {
            await ErrorResponses.WriteAsync(context, GatewayError.Forbidden("This key is not an admin key; the admin API is for admin keys only.", "admin_only")).ConfigureAwait(false);
            return;
        }
        try
        {
            string rest = (context.Request.Path.Value ?? "")[Prefix.Length..].Trim('/');
            // Live state lives in memory: it is served with or without a store.
            if (rest is "deployments" or "policies" && HttpMethods.IsGet(context.Request.Method))
            {
                await WriteAsync(context, 200, rest == "deployments" ? Deployments() : Policies()).ConfigureAwait(false);
                return;
            }
            if (rest == "cache")
            {
                if (HttpMethods.IsGet(context.Request.Method)) await WriteAsync(context, 200, CacheStats()).ConfigureAwait(false);
                else if (HttpMethods.IsDelete(context.Request.Method)) await WriteAsync(context, 200, await PurgeCacheAsync(context, key.Id).ConfigureAwait(false)).ConfigureAwait(false);
                else throw new AdminError(405, "method_not_allowed", $"{context.Request.Method} is not served on {context.Request.Path}: GET reads the cache's size, DELETE purges it.");
                return;
            }
            if (store is null)
                throw new AdminError(503, "no_store", "The admin API keeps its data in the store, and this gateway runs without one (storage.database is \"none\").");
            string[] parts = rest.Length == 0 ? [] : rest.Split('/');
            for (int i = 0; i < parts.Length; i++) parts[i] = Uri.UnescapeDataString(parts[i]);
            string method = context.Request.Method.ToUpperInvariant();
            var (status, body) = await RouteAsync(context, method, parts, key, store).ConfigureAwait(false);
            await WriteAsync(context, status, body).ConfigureAwait(false);
        }
        catch (AdminError ex)
        {
            await ErrorResponses.WriteAsync(context, ex.Error).ConfigureAwait(false);
        }
        catch (GovernanceConflictException ex)
        {
            await ErrorResponses.WriteAsync(context, new AdminError(409, "conflict", ex.Message).Error).ConfigureAwait(false);
        }
        catch (Exception ex) when (Gateway.Storage.GatewayStore.IsStoreFailure(ex))
        {
            Log.StoreFailed(logger, context.Request.Path.Value ?? "", ex);
            await ErrorResponses.WriteAsync(context, new AdminError(503, "store_unavailable", "The store could not be read or written; the error is logged.").Error).ConfigureAwait(false);
        }
    }

    private async Task<(int Status, byte[]? Body)> RouteAsync(HttpContext context, string method, string[] parts, GatewayKey actor, IGovernanceStore store)
    {
        string collection = parts.Length > 0 ? parts[0] : "";
        string? id = parts.Length > 1 ? parts[1] : null;
        if (parts.Length > 2) throw NotFound(context);
        switch (collection, method, id is null)
        {
            case ("tenants", "POST", true): return (201, CreateTenant(await BodyAsync(context).ConfigureAwait(false), actor, store));
            case ("tenants", "GET", true): return (200, List(directory.Current.Tenants.Values.OrderBy(t => t.Id, StringComparer.Ordinal), WriteTenant));
            case ("tenants", "GET", false): return (200, One(directory.Current.Tenants.GetValueOrDefault(id!), WriteTenant, "tenant", id!));
            case ("tenants", "PATCH", false): return (200, UpdateTenant(id!, await BodyAsync(context).ConfigureAwait(false), actor, store));
            case ("tenants", "DELETE", false): return (200, Delete("tenant", id!, directory.Current.Tenants.GetValueOrDefault(id!), (w, t) => TenantJson(w, t, null, 0), actor, store));

            case ("teams", "POST", true): return (201, CreateTeam(await BodyAsync(context).ConfigureAwait(false), actor, store));
            case ("teams", "GET", true): return (200, List(directory.Current.Teams.Values.OrderBy(t => t.Id, StringComparer.Ordinal), WriteTeam));
            case ("teams", "GET", false): return (200, One(directory.Current.Teams.GetValueOrDefault(id!), WriteTeam, "team", id!));
            case ("teams", "PATCH", false): return (200, UpdateTeam(id!, await BodyAsync(context).ConfigureAwait(false), actor, store));
            case ("teams", "DELETE", false): return (200, Delete("team", id!, directory.Current.Teams.GetValueOrDefault(id!), (w, t) => TeamJson(w, t, null, 0), actor, store));

            case ("keys", "POST", true): return (201, CreateKey(await BodyAsync(context).ConfigureAwait(false), actor, store));
            case ("keys", "GET", true): return (200, List(directory.Current.Keys.Values.OrderBy(k => k.CreatedAt).ThenBy(k => k.Id, StringComparer.Ordinal), (w, k) => WriteKey(w, k, null)));
            case ("keys", "GET", false): return (200, One(directory.Current.Keys.GetValueOrDefault(id!), (w, k) => WriteKey(w, k, null), "key", id!));
            case ("keys", "PATCH", false): return (200, UpdateKey(id!, await BodyAsync(context).ConfigureAwait(false), actor, store));
            case ("keys", "DELETE", false): return (200, RevokeKey(id!, actor, store));

            case ("providers", "PUT", false): return PutProvider(id!, await BodyAsync(context).ConfigureAwait(false), actor, store);
            case ("providers", "GET", true): return (200, ListProviders(store));
            case ("providers", "GET", false): return (200, GetProvider(id!, store));
            case ("providers", "DELETE", false): return (200, DeleteProvider(id!, actor, store));

            case ("usage", "GET", true): return (200, Usage(context.Request.Query, store));
            case ("logs", "GET", true): return (200, Logs(context.Request.Query, store));
            case ("audit", "GET", true): return (200, Audit(context.Request.Query, store));
            case ("analytics", "GET", false) when id == "series": return (200, Series(context.Request.Query, store));
            case ("analytics", "GET", false) when id == "requests": return (200, TopRequests(context.Request.Query, store));
        }
        if (collection == "analytics" && id is not ("series" or "requests")) throw NotFound(context);
        bool known = collection is "tenants" or "teams" or "keys" or "providers" or "usage" or "logs" or "audit" or "analytics" or "deployments" or "policies";
        if (!known) throw NotFound(context);
        throw new AdminError(405, "method_not_allowed", $"{context.Request.Method} is not served on {context.Request.Path}.");
    }

    private static AdminError NotFound(HttpContext context) => new(404, "not_found",
        $"No admin route {context.Request.Method} {context.Request.Path}. Collections under {Prefix}: tenants, teams, keys, providers, usage, logs, audit, analytics/series, analytics/requests, deployments, policies, cache.");

    private static async Task<JsonElement> BodyAsync(HttpContext context)
    {
        var (body, error) = await RequestBodyReader.ReadAsync(context.Request, MaxBody, context.RequestAborted).ConfigureAwait(false);
        if (body is null) throw new AdminError(error!.Status, error.Code, error.Message);
        using (body)
        {
            try
            {
                using var document = JsonDocument.Parse(body.Memory);
                if (document.RootElement.ValueKind != JsonValueKind.Object) throw new AdminError(400, "invalid_json", "The body must be a JSON object.");
                return document.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                throw new AdminError(400, "invalid_json", $"The body is not valid JSON: {ex.Message}");
            }
        }
    }

    private static async Task WriteAsync(HttpContext context, int status, byte[]? body)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.Headers.CacheControl = "no-store";
        if (body is null) return;
        response.ContentType = "application/json";
        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }

    private static byte[] Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer)) write(writer);
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] List<T>(IEnumerable<T> items, Action<Utf8JsonWriter, T> write) => Json(w =>
    {
        w.WriteStartObject();
        w.WriteString("object", "list");
        w.WriteStartArray("data");
        foreach (var item in items) write(w, item);
        w.WriteEndArray();
        w.WriteEndObject();
    });

    private static byte[] One<T>(T? item, Action<Utf8JsonWriter, T> write, string entity, string id) where T : class =>
        item is null ? throw new AdminError(404, "not_found", $"No {entity} '{id}'.") : Json(w => write(w, item));

    private static string Text<T>(T item, Action<Utf8JsonWriter, T> write) => GovernanceJson.Text(w => write(w, item));

    private AuditEntry AuditOf(GatewayKey actor, string action, string entity, string id, string? before, string? after) =>
        new(0, Now(), actor.Id, action, entity, id, before, after);

    private long Now() => time.GetUtcNow().ToUnixTimeMilliseconds();

    private static string Iso(long unixMs) => DateTimeOffset.FromUnixTimeMilliseconds(unixMs).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private static partial class Log
    {
        [LoggerMessage(EventId = 7001, Level = LogLevel.Error, Message = "Admin API: the store failed on {Path}")]
        public static partial void StoreFailed(ILogger logger, string path, Exception exception);

        [LoggerMessage(EventId = 7002, Level = LogLevel.Information, Message = "Admin API: {Actor} {Action} {Entity} {Id}")]
        public static partial void Changed(ILogger logger, string actor, string action, string entity, string id);

        [LoggerMessage(EventId = 7003, Level = LogLevel.Information, Message = "Admin API: {Actor} purged the response cache of {Scope}, {Model}: {Purged} entries")]
        public static partial void CachePurged(ILogger logger, string actor, string scope, string model, long purged);
    }
}
