using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Gateway.Core.Auth;
using Gateway.Core.Config;
using Gateway.Core.Governance;

namespace Gateway.Server.Admin;

internal sealed partial class AdminApi
{
    private const int MaxMetadataBytes = 16 * 1024;
    private static readonly string[] TenantFields = ["id", "name", "limits", "budget", "metadata"];
    private static readonly string[] TeamFields = ["id", "tenant", "name", "limits", "budget", "metadata"];
    private static readonly string[] KeyFields = ["name", "tenant", "team", "models", "limits", "budget", "expiresAt", "admin", "metadata"];

    /// <summary>What a request body said, field by field, with every problem found (answered as one 400).</summary>
    private sealed class Fields(JsonElement body, string[] allowed)
    {
        public readonly List<string> Errors = [];

        public void CheckUnknown()
        {
            foreach (var property in body.EnumerateObject())
                if (!allowed.Contains(property.Name)) Errors.Add($"{property.Name}: unknown field (known: {string.Join(", ", allowed)})");
        }

        public bool Has(string name) => body.TryGetProperty(name, out _);

        public string? String(string name, int maxLength = 200, bool nullable = true)
        {
            if (!body.TryGetProperty(name, out var value) || (nullable && value.ValueKind == JsonValueKind.Null)) return null;
            if (value.ValueKind != JsonValueKind.String || value.GetString() is not { Length: > 0 } text || text.Length > maxLength)
            {
                Errors.Add($"{name}: a non-empty string of at most {maxLength} characters");
                return null;
            }
            return text;
        }

        public string? Id(string name, bool required)
        {
            if (!Has(name))
            {
                if (required) Errors.Add($"{name}: required");
                return null;
            }
            var id = String(name, 64);
            if (id is not null && !IsId(id)) Errors.Add($"{name}: letters, digits and '.', '_', '-', ':' only, starting with a letter or digit");
            return id;
        }

        public RateLimits Limits() => body.TryGetProperty("limits", out var value) ? GovernanceJson.ReadLimits(value, "limits", Errors) : RateLimits.None;

        public Budget? Budget() => body.TryGetProperty("budget", out var value) ? GovernanceJson.ReadBudget(value, "budget", Errors) : null;

        public string? Metadata()
        {
            if (!body.TryGetProperty("metadata", out var value) || value.ValueKind == JsonValueKind.Null) return null;
            string text = value.GetRawText();
            if (value.ValueKind != JsonValueKind.Object) Errors.Add("metadata: a JSON object");
            else if (text.Length > MaxMetadataBytes) Errors.Add($"metadata: at most {MaxMetadataBytes} bytes");
            return text;
        }

        public bool Bool(string name)
        {
            if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return false;
            if (value.ValueKind is JsonValueKind.True or JsonValueKind.False) return value.GetBoolean();
            Errors.Add($"{name}: true or false");
            return false;
        }

        public IReadOnlyList<string> Models()
        {
            if (!body.TryGetProperty("models", out var value) || value.ValueKind == JsonValueKind.Null) return [];
            var models = new List<string>();
            if (value.ValueKind != JsonValueKind.Array)
            {
                Errors.Add("models: an array of model names or globs (\"provider/*\", an alias)");
                return models;
            }
            foreach (var item in value.EnumerateArray())
            {
                if (item.ValueKind == JsonValueKind.String && item.GetString() is { Length: > 0 and <= 200 } model) models.Add(model);
                else Errors.Add("models: each entry a non-empty string of at most 200 characters");
            }
            return models;
        }

        /// <summary>An instant as an ISO 8601 string (UTC unless it says otherwise) or Unix seconds.</summary>
        public long? Time(string name)
        {
            if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
            if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long seconds) && seconds > 0 && seconds < 253_402_300_800) return seconds * 1000;
            if (value.ValueKind == JsonValueKind.String
                && DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
                return at.ToUnixTimeMilliseconds();
            Errors.Add($"{name}: an ISO 8601 time (\"2027-01-31T00:00:00Z\") or Unix seconds");
            return null;
        }

        public void ThrowIfAny()
        {
            if (Errors.Count > 0) throw new AdminError(400, "invalid_request", string.Join("; ", Errors));
        }
    }

    private static bool IsId(string id)
    {
        if (id.Length == 0 || !char.IsAsciiLetterOrDigit(id[0])) return false;
        foreach (char c in id)
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or '-' or ':')) return false;
        return true;
    }

    private byte[] CreateTenant(JsonElement body, GatewayKey actor, IGovernanceStore store)
    {
        var f = new Fields(body, TenantFields);
        f.CheckUnknown();
        string? id = f.Id("id", required: true);
        var tenant = new Tenant(id ?? "", f.String("name") ?? id ?? "", f.Limits(), f.Budget(), f.Metadata(), Now(), Now());
        f.ThrowIfAny();
        if (directory.Current.Tenants.ContainsKey(tenant.Id)) throw new AdminError(409, "conflict", $"A tenant '{tenant.Id}' already exists.");
        store.Insert(tenant, AuditOf(actor, "create", "tenant", tenant.Id, null, AuditText(tenant)));
        return Changed(actor, "create", "tenant", tenant.Id, () => Json(w => WriteTenant(w, directory.Current.Tenants.GetValueOrDefault(tenant.Id) ?? tenant)));
    }

    private byte[] UpdateTenant(string id, JsonElement body, GatewayKey actor, IGovernanceStore store)
    {
        var before = directory.Current.Tenants.GetValueOrDefault(id) ?? throw new AdminError(404, "not_found", $"No tenant '{id}'.");
        var f = new Fields(body, TenantFields);
        f.CheckUnknown();
        if (f.Has("id") && f.String("id") != id) f.Errors.Add("id: cannot be changed");
        var after = before with
        {
            Name = f.Has("name") ? f.String("name", nullable: false) ?? before.Name : before.Name,
            Limits = f.Has("limits") ? f.Limits() : before.Limits,
            Budget = f.Has("budget") ? f.Budget() : before.Budget,
            Metadata = f.Has("metadata") ? f.Metadata() : before.Metadata,
            UpdatedAt = Now(),
        };
        f.ThrowIfAny();
        store.Update(after, AuditOf(actor, "update", "tenant", id, AuditText(before), AuditText(after)));
        return Changed(actor, "update", "tenant", id, () => Json(w => WriteTenant(w, after)));
    }

    private byte[] CreateTeam(JsonElement body, GatewayKey actor, IGovernanceStore store)
    {
        var f = new Fields(body, TeamFields);
        f.CheckUnknown();
        string? id = f.Id("id", required: true);
        string? tenant = f.Id("tenant", required: false);
        if (tenant is not null && !directory.Current.Tenants.ContainsKey(tenant)) f.Errors.Add($"tenant: no tenant '{tenant}'");
        var team = new Team(id ?? "", tenant, f.String("name") ?? id ?? "", f.Limits(), f.Budget(), f.Metadata(), Now(), Now());
        f.ThrowIfAny();
        if (directory.Current.Teams.ContainsKey(team.Id)) throw new AdminError(409, "conflict", $"A team '{team.Id}' already exists.");
        store.Insert(team, AuditOf(actor, "create", "team", team.Id, null, AuditText(team)));
        return Changed(actor, "create", "team", team.Id, () => Json(w => WriteTeam(w, team)));
    }

    private byte[] UpdateTeam(string id, JsonElement body, GatewayKey actor, IGovernanceStore store)
    {
        var before = directory.Current.Teams.GetValueOrDefault(id) ?? throw new AdminError(404, "not_found", $"No team '{id}'.");
        var f = new Fields(body, TeamFields);
        f.CheckUnknown();
        if (f.Has("id") && f.String("id") != id) f.Errors.Add("id: cannot be changed");
        string? tenant = f.Has("tenant") ? f.Id("tenant", required: false) : before.Tenant;
        if (tenant is not null && !directory.Current.Tenants.ContainsKey(tenant)) f.Errors.Add($"tenant: no tenant '{tenant}'");
        var after = before with
        {
            Tenant = tenant,
            Name = f.Has("name") ? f.String("name", nullable: false) ?? before.Name : before.Name,
            Limits = f.Has("limits") ? f.Limits() : before.Limits,
            Budget = f.Has("budget") ? f.Budget() : before.Budget,
            Metadata = f.Has("metadata") ? f.Metadata() : before.Metadata,
            UpdatedAt = Now(),
        };
        f.ThrowIfAny();
        store.Update(after, AuditOf(actor, "update", "team", id, AuditText(before), AuditText(after)));
        return Changed(actor, "update", "team", id, () => Json(w => WriteTeam(w, after)));
    }

    private byte[] CreateKey(JsonElement body, GatewayKey actor, IGovernanceStore store)
    {
        var (key, secret, errors) = NewKey(body, directory.Current, Now());
        if (errors.Count > 0) throw new AdminError(400, "invalid_request", string.Join("; ", errors));
        store.Insert(key, AuditOf(actor, "create", "key", key.Id, null, AuditText(key)));
        return Changed(actor, "create", "key", key.Id, () => Json(w => WriteKey(w, key, secret)));
    }

    /// <summary>A new key as the API (or the offline CLI) describes it: the secret is random and only its hash is kept; or what is wrong with the description.</summary>
    internal static (StoredKey Key, string Secret, IReadOnlyList<string> Errors) NewKey(JsonElement body, GovernanceDirectory current, long now)
    {
        var f = new Fields(body, KeyFields);
        f.CheckUnknown();
        var (key, secret) = NewKey(f.String("name", nullable: false), f, now, current);
        return (key, secret, f.Errors);
    }

    private static (StoredKey Key, string Secret) NewKey(string? name, Fields f, long now, GovernanceDirectory current)
    {
        if (name is null && !f.Has("name")) f.Errors.Add("name: required");
        string? team = f.Id("team", required: false), tenant = f.Id("tenant", required: false);
        CheckOwners(f, team, tenant, current);
        long? expires = f.Time("expiresAt");
        if (expires is { } at && at <= now) f.Errors.Add("expiresAt: already past");
        string secret = KeyHashing.NewKey("gw-");
        string id = "key_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var key = new StoredKey(id, name ?? "", KeyHashing.Hash(secret), secret[..11], tenant, team, f.Models(), f.Limits(), f.Budget(), f.Bool("admin"), f.Metadata(),
            expires, null, now, now);
        return (key, secret);
    }

    private static void CheckOwners(Fields f, string? team, string? tenant, GovernanceDirectory current)
    {
        if (tenant is not null && !current.Tenants.ContainsKey(tenant)) f.Errors.Add($"tenant: no tenant '{tenant}'");
        if (team is null) return;
        if (!current.Teams.TryGetValue(team, out var row)) f.Errors.Add($"team: no team '{team}'");
        else if (tenant is not null && row.Tenant is not null && row.Tenant != tenant) f.Errors.Add($"team: '{team}' belongs to tenant '{row.Tenant}', not '{tenant}'");
    }

    private byte[] UpdateKey(string id, JsonElement body, GatewayKey actor, IGovernanceStore store)
    {
        var before = directory.Current.Keys.GetValueOrDefault(id) ?? throw new AdminError(404, "not_found", $"No key '{id}'.");
        if (before.IsRevoked) throw new AdminError(409, "key_revoked", $"The key '{id}' is revoked; a revoked key stays revoked. Create a new one.");
        var f = new Fields(body, KeyFields);
        f.CheckUnknown();
        string? team = f.Has("team") ? f.Id("team", required: false) : before.Team;
        string? tenant = f.Has("tenant") ? f.Id("tenant", required: false) : before.Tenant;
        CheckOwners(f, team, tenant, directory.Current);
        var after = before with
        {
            Name = f.Has("name") ? f.String("name", nullable: false) ?? before.Name : before.Name,
            Team = team,
            Tenant = tenant,
            Models = f.Has("models") ? f.Models() : before.Models,
            Limits = f.Has("limits") ? f.Limits() : before.Limits,
            Budget = f.Has("budget") ? f.Budget() : before.Budget,
            Admin = f.Has("admin") ? f.Bool("admin") : before.Admin,
            Metadata = f.Has("metadata") ? f.Metadata() : before.Metadata,
            ExpiresAt = f.Has("expiresAt") ? f.Time("expiresAt") : before.ExpiresAt,
            UpdatedAt = Now(),
        };
        f.ThrowIfAny();
        store.Update(after, AuditOf(actor, "update", "key", id, AuditText(before), AuditText(after)));
        return Changed(actor, "update", "key", id, () => Json(w => WriteKey(w, after, null)));
    }

    /// <summary>A key is revoked rather than deleted: its row stays for the logs and the audit; it is refused from the next request on.</summary>
    private byte[] RevokeKey(string id, GatewayKey actor, IGovernanceStore store)
    {
        var before = directory.Current.Keys.GetValueOrDefault(id) ?? throw new AdminError(404, "not_found", $"No key '{id}'.");
        if (before.IsRevoked) return Json(w => WriteKey(w, before, null));
        var after = before with { RevokedAt = Now(), UpdatedAt = Now() };
        store.Update(after, AuditOf(actor, "revoke", "key", id, AuditText(before), AuditText(after)));
        return Changed(actor, "revoke", "key", id, () => Json(w => WriteKey(w, after, null)));
    }

    private byte[] Delete<T>(string entity, string id, T? before, Action<Utf8JsonWriter, T> write, GatewayKey actor, IGovernanceStore store) where T : class
    {
        if (before is null) throw new AdminError(404, "not_found", $"No {entity} '{id}'.");
        try
        {
            store.Delete(entity, id, AuditOf(actor, "delete", entity, id, Text(before, write), null));
        }
        catch (GovernanceConflictException)
        {
            throw new AdminError(409, "in_use", $"The {entity} '{id}' still has {(entity == "tenant" ? "teams or keys" : "keys")} (revoked keys included); move or delete them first.");
        }
        return Changed(actor, "delete", entity, id, () => Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("id", id);
            w.WriteString("object", entity);
            w.WriteBoolean("deleted", true);
            w.WriteEndObject();
        }));
    }

    /// <summary>After a change: the directory is rebuilt from the store before the answer goes out.</summary>
    private byte[] Changed(GatewayKey actor, string action, string entity, string id, Func<byte[]> answer)
    {
        sync?.Changed();
        Log.Changed(logger, actor.Id, action, entity, id);
        return answer();
    }

    private void WriteTenant(Utf8JsonWriter w, Tenant t) => TenantJson(w, t, governor, Now());

    private void WriteTeam(Utf8JsonWriter w, Team t) => TeamJson(w, t, governor, Now());

    private void WriteKey(Utf8JsonWriter w, StoredKey k, string? secret) => KeyJson(w, k, secret, governor, Now());

    /// <summary>The entity as the audit log keeps it: what was set, without live spend.</summary>
    internal static string AuditText(Tenant t) => GovernanceJson.Text(w => TenantJson(w, t, null, 0));

    internal static string AuditText(Team t) => GovernanceJson.Text(w => TeamJson(w, t, null, 0));

    internal static string AuditText(StoredKey k) => GovernanceJson.Text(w => KeyJson(w, k, null, null, 0));

    internal static void TenantJson(Utf8JsonWriter w, Tenant t, Governor? governor, long now)
    {
        w.WriteStartObject();
        w.WriteString("id", t.Id);
        w.WriteString("object", "tenant");
        w.WriteString("name", t.Name);
        WriteGovernance(w, "tenant", t.Id, t.Limits, t.Budget, t.Metadata, governor, now);
        w.WriteString("createdAt", Iso(t.CreatedAt));
        w.WriteString("updatedAt", Iso(t.UpdatedAt));
        w.WriteEndObject();
    }

    internal static void TeamJson(Utf8JsonWriter w, Team t, Governor? governor, long now)
    {
        w.WriteStartObject();
        w.WriteString("id", t.Id);
        w.WriteString("object", "team");
        w.WriteString("name", t.Name);
        if (t.Tenant is null) w.WriteNull("tenant");
        else w.WriteString("tenant", t.Tenant);
        WriteGovernance(w, "team", t.Id, t.Limits, t.Budget, t.Metadata, governor, now);
        w.WriteString("createdAt", Iso(t.CreatedAt));
        w.WriteString("updatedAt", Iso(t.UpdatedAt));
        w.WriteEndObject();
    }

    /// <summary>A key as the API shows it: never its secret or hash, except <paramref name="secret"/> once, when it is created.</summary>
    internal static void KeyJson(Utf8JsonWriter w, StoredKey k, string? secret, Governor? governor, long now)
    {
        w.WriteStartObject();
        w.WriteString("id", k.Id);
        w.WriteString("object", "key");
        w.WriteString("name", k.Name);
        if (secret is not null) w.WriteString("key", secret);
        w.WriteString("prefix", k.Prefix);
        if (k.Tenant is null) w.WriteNull("tenant");
        else w.WriteString("tenant", k.Tenant);
        if (k.Team is null) w.WriteNull("team");
        else w.WriteString("team", k.Team);
        w.WriteStartArray("models");
        foreach (var model in k.Models) w.WriteStringValue(model);
        w.WriteEndArray();
        w.WriteBoolean("admin", k.Admin);
        WriteGovernance(w, "key", k.Id, k.Limits, k.Budget, k.Metadata, governor, now);
        if (k.ExpiresAt is { } expires) w.WriteString("expiresAt", Iso(expires));
        else w.WriteNull("expiresAt");
        if (k.RevokedAt is { } revoked) w.WriteString("revokedAt", Iso(revoked));
        else w.WriteNull("revokedAt");
        w.WriteString("status", k.IsRevoked ? "revoked" : k.ExpiresAt is { } e && governor is not null && e <= now ? "expired" : "active");
        w.WriteString("createdAt", Iso(k.CreatedAt));
        w.WriteString("updatedAt", Iso(k.UpdatedAt));
        w.WriteEndObject();
    }

    /// <summary>Limits, budget (with what it has spent in its current period), metadata.</summary>
    private static void WriteGovernance(Utf8JsonWriter w, string scope, string id, RateLimits limits, Budget? budget, string? metadata, Governor? governor, long now)
    {
        w.WritePropertyName("limits");
        GovernanceJson.WriteLimits(w, limits);
        if (budget is null) w.WriteNull("budget");
        else
        {
            w.WritePropertyName("budget");
            GovernanceJson.WriteBudget(w, budget);
        }
        if (budget is not null && governor is not null)
        {
            long start = Budget.PeriodStart(budget.Period, now);
            var (spent, reserved) = governor.Spend(scope, id, budget);
            w.WriteStartObject("spend");
            w.WriteNumber("usd", Budget.ToUsd(spent));
            w.WriteNumber("reservedUsd", Budget.ToUsd(reserved));
            if (budget.Period != BudgetPeriod.Lifetime)
            {
                w.WriteString("periodStart", Iso(start));
                w.WriteString("periodEnd", Iso(Budget.PeriodEnd(budget.Period, now)));
            }
            w.WriteEndObject();
        }
        if (metadata is null) w.WriteNull("metadata");
        else
        {
            w.WritePropertyName("metadata");
            w.WriteRawValue(metadata, skipInputValidation: true);
        }
    }
}
