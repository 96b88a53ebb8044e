using System.Text.Json;
using Gateway.Core;
using Gateway.Core.Errors;
using Gateway.Server.Http;
using Microsoft.AspNetCore.Http;

namespace Gateway.Server.Endpoints;

/// <summary><c>GET /v1/models</c>: every alias and <c>provider/model</c> the current config serves, OpenAI list shape.</summary>
internal sealed class ModelsEndpoint(SnapshotHolder snapshots, Gateway.Core.Governance.DirectoryHolder directory, TimeProvider time)
{
    public async Task ListAsync(HttpContext context)
    {
        var snapshot = snapshots.Current;
        var key = Authenticator.Authenticate(context, snapshot.Keys, directory.Current);
        if (key is null || Authenticator.IsExpired(key, snapshot.Time))
        {
            await ErrorResponses.WriteAsync(context, GatewayError.Unauthorized("Missing or invalid gateway key.")).ConfigureAwait(false);
            return;
        }

        var providers = snapshot.Providers.Values.OrderBy(p => p.Name, StringComparer.Ordinal).ToArray();
        var lists = await Task.WhenAll(providers.Select(p => p.ListModelsAsync(context.RequestAborted).AsTask())).ConfigureAwait(false);

        long created = time.GetUtcNow().ToUnixTimeSeconds();
        var output = new System.Buffers.ArrayBufferWriter<byte>(4096);
        using (var w = new Utf8JsonWriter(output))
        {
            w.WriteStartObject();
            w.WriteString("object"u8, "list"u8);
            w.WriteStartArray("data"u8);
            foreach (var alias in snapshot.Groups.Keys.Order(StringComparer.Ordinal))
                if (key.MayUse(alias)) WriteModel(w, alias, "gateway", created);
            for (int i = 0; i < providers.Length; i++)
                foreach (var model in lists[i])
                {
                    string id = $"{providers[i].Name}/{model}";
                    if (key.MayUse(id)) WriteModel(w, id, providers[i].Name, created);
                }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = output.WrittenCount;
        await context.Response.Body.WriteAsync(output.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }

    private static void WriteModel(Utf8JsonWriter w, string id, string ownedBy, long created)
    {
        w.WriteStartObject();
        w.WriteString("id"u8, id);
        w.WriteString("object"u8, "model"u8);
        w.WriteNumber("created"u8, created);
        w.WriteString("owned_by"u8, ownedBy);
        w.WriteEndObject();
    }
}
