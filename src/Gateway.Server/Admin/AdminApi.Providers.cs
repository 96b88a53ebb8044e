using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Core.Auth;
using Gateway.Core.Governance;
using Gateway.Server.Governance;

namespace Gateway.Server.Admin;

internal sealed partial class AdminApi
{
    /// <summary>
    /// <c>PUT /admin/v1/providers/{name}</c>: a provider entry as the configuration file would have it; its
    /// credentials are sealed with <c>GATEWAY_SECRET_KEY</c> (refused without it) and never shown again. It
    /// serves from the next request, as <c>{name}/{model}</c>.
    /// </summary>
    private (int, byte[]?) PutProvider(string name, JsonElement body, GatewayKey actor, IGovernanceStore store)
    {
        if (snapshots.Current.Config.Providers.TryGetValue(name, out var declared) && declared.Origin != StoredProviders.Origin)
            throw new AdminError(409, "conflict", $"The provider '{name}' is declared by the configuration ({declared.Origin}); a stored provider needs a name of its own.");
        var entry = JsonNode.Parse(body.GetRawText()) as JsonObject ?? throw new AdminError(400, "invalid_json", "The body must be a JSON object.");
        var (shown, secret) = StoredProviders.Split(entry);
        if (secret is not null && providers.Secrets is null)
            throw new AdminError(503, "secret_key_missing",
                $"The gateway does not store a credential it cannot encrypt: {providers.SecretsProblem}. Set {SecretBox.Variable} (openssl rand -base64 32) and restart.");
        var (provider, errors) = providers.Read(name, entry);
        if (provider is null) throw new AdminError(400, "invalid_provider", string.Join("; ", errors));

        var existing = store.LoadProviders().FirstOrDefault(p => p.Name == name);
        long now = Now();
        var row = new StoredProvider(name, shown, secret is null ? null : providers.Secrets!.Seal(secret, name), existing?.CreatedAt ?? now, now);
        store.Put(row, AuditOf(actor, existing is null ? "create" : "update", "provider", name, existing is null ? null : Text(existing, WriteProvider), Text(row, WriteProvider)));
        Publish(name, provider);
        sync?.Changed();
        Log.Changed(logger, actor.Id, existing is null ? "create" : "update", "provider", name);
        return (existing is null ? 201 : 200, Json(w => WriteProvider(w, row)));
    }

    private byte[] ListProviders(IGovernanceStore store) => List(store.LoadProviders(), WriteProvider);

    private byte[] GetProvider(string name, IGovernanceStore store) =>
        One(store.LoadProviders().FirstOrDefault(p => p.Name == name), WriteProvider, "stored provider", name);

    private byte[] DeleteProvider(string name, GatewayKey actor, IGovernanceStore store)
    {
        var existing = store.LoadProviders().FirstOrDefault(p => p.Name == name) ?? throw new AdminError(404, "not_found", $"No stored provider '{name}'.");
        store.Delete("provider", name, AuditOf(actor, "delete", "provider", name, Text(existing, WriteProvider), null));
        Publish(name, null);
        Log.Changed(logger, actor.Id, "delete", "provider", name);
        return Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("id", name);
            w.WriteString("object", "provider");
            w.WriteBoolean("deleted", true);
            w.WriteEndObject();
        });
    }

    /// <summary>The stored set changes, and a snapshot with it is swapped in.</summary>
    private void Publish(string name, Gateway.Core.Config.ProviderConfig? provider)
    {
        providers.Set(name, provider);
        factory.Republish(snapshots);
    }

    /// <summary>A stored provider as shown: its entry without credentials, and which credentials it holds (by name only).</summary>
    private static void WriteProvider(Utf8JsonWriter w, StoredProvider p)
    {
        w.WriteStartObject();
        w.WriteString("id", p.Name);
        w.WriteString("object", "provider");
        using (var entry = JsonDocument.Parse(p.Entry))
            foreach (var property in entry.RootElement.EnumerateObject())
                if (property.Name is not ("id" or "object")) property.WriteTo(w);
        w.WriteBoolean("hasCredentials", p.Secret is not null);
        w.WriteString("createdAt", Iso(p.CreatedAt));
        w.WriteString("updatedAt", Iso(p.UpdatedAt));
        w.WriteEndObject();
    }
}
