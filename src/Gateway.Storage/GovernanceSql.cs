using System.Data.Common;
using System.Text.Json;
using Gateway.Core.Governance;
using Gateway.Storage.Sqlite;

namespace Gateway.Storage;

/// <summary>
/// The governance statements and row readers both engines share: the SQL is the same text on SQLite and
/// PostgreSQL (positional <c>$1</c> parameters, <c>ON CONFLICT</c> upserts), and rows are read through
/// <see cref="DbDataReader"/>. What differs between them (transactions, error codes, the request log's
/// cursor column) stays in each store.
/// </summary>
internal static class GovernanceSql
{
    public const string SelectTenants = "SELECT id, name, limits, budget, metadata, created_at, updated_at FROM tenants ORDER BY id";
    public const string SelectTeams = "SELECT id, tenant, name, limits, budget, metadata, created_at, updated_at FROM teams ORDER BY id";
    public const string SelectKeys =
        "SELECT id, name, hash, prefix, tenant, team, models, limits, budget, admin, metadata, expires_at, revoked_at, created_at, updated_at FROM keys ORDER BY created_at, id";

    public const string InsertTenant = "INSERT INTO tenants (id, name, limits, budget, metadata, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    public const string UpdateTenant = "UPDATE tenants SET name = $2, limits = $3, budget = $4, metadata = $5, updated_at = $7 WHERE id = $1";
    public const string InsertTeam = "INSERT INTO teams (id, tenant, name, limits, budget, metadata, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    public const string UpdateTeam = "UPDATE teams SET tenant = $2, name = $3, limits = $4, budget = $5, metadata = $6, updated_at = $8 WHERE id = $1";
    public const string InsertKey = """
        INSERT INTO keys (id, name, hash, prefix, tenant, team, models, limits, budget, admin, metadata, expires_at, revoked_at, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
        """;
    public const string UpdateKey = """
        UPDATE keys SET name = $2, tenant = $5, team = $6, models = $7, limits = $8, budget = $9, admin = $10, metadata = $11, expires_at = $12,
            revoked_at = $13, updated_at = $15 WHERE id = $1
        """;
    public const string PutProvider = """
        INSERT INTO provider_secrets (name, config, secret, nonce, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (name) DO UPDATE SET config = excluded.config, secret = excluded.secret, nonce = excluded.nonce, updated_at = excluded.updated_at
        """;
    public const string SelectProviders = "SELECT name, config, secret, nonce, created_at, updated_at FROM provider_secrets ORDER BY name";
    public const string InsertAudit = "INSERT INTO audit_log (time, actor, action, entity, entity_id, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    public const string NextDirectoryVersion = "UPDATE meta SET value = value + 1 WHERE name = 'directory_version'";
    public const string SpentIn = "SELECT spent_nanos FROM budget_spend WHERE scope = $1 AND scope_id = $2 AND period_start = $3";

    public static object?[] Values(Tenant t) =>
        [t.Id, t.Name, GovernanceJson.LimitsText(t.Limits), GovernanceJson.BudgetText(t.Budget), t.Metadata, t.CreatedAt, t.UpdatedAt];

    public static object?[] Values(Team t) =>
        [t.Id, t.Tenant, t.Name, GovernanceJson.LimitsText(t.Limits), GovernanceJson.BudgetText(t.Budget), t.Metadata, t.CreatedAt, t.UpdatedAt];

    public static object?[] Values(StoredKey key) =>
        [key.Id, key.Name, key.Hash, key.Prefix, key.Tenant, key.Team, key.Models.Count == 0 ? null : JsonSerializer.Serialize(key.Models, StorageJson.Default.IReadOnlyListString),
         GovernanceJson.LimitsText(key.Limits), GovernanceJson.BudgetText(key.Budget), key.Admin ? 1L : 0L, key.Metadata, key.ExpiresAt, key.RevokedAt, key.CreatedAt, key.UpdatedAt];

    public static object?[] Values(StoredProvider p) => [p.Name, p.Entry, p.Secret?.Ciphertext, p.Secret?.Nonce, p.CreatedAt, p.UpdatedAt];

    public static object?[] Values(AuditEntry a) => [a.Time, a.Actor, a.Action, a.Entity, a.EntityId, a.Before, a.After];

    /// <summary>The table and key column of an entity the admin API deletes.</summary>
    public static string DeleteStatement(string entity) => entity switch
    {
        "tenant" => "DELETE FROM tenants WHERE id = $1",
        "team" => "DELETE FROM teams WHERE id = $1",
        "key" => "DELETE FROM keys WHERE id = $1",
        "provider" => "DELETE FROM provider_secrets WHERE name = $1",
        _ => throw new ArgumentOutOfRangeException(nameof(entity)),
    };

    public static Tenant ReadTenant(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), GovernanceJson.LimitsFromText(Text(r, 2)), GovernanceJson.BudgetFromText(Text(r, 3)), Text(r, 4), r.GetInt64(5), r.GetInt64(6));

    public static Team ReadTeam(DbDataReader r) =>
        new(r.GetString(0), Text(r, 1), r.GetString(2), GovernanceJson.LimitsFromText(Text(r, 3)), GovernanceJson.BudgetFromText(Text(r, 4)), Text(r, 5), r.GetInt64(6), r.GetInt64(7));

    public static StoredKey ReadKey(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), (byte[])r.GetValue(2), r.GetString(3), Text(r, 4), Text(r, 5), Models(Text(r, 6)), GovernanceJson.LimitsFromText(Text(r, 7)),
            GovernanceJson.BudgetFromText(Text(r, 8)), r.GetInt64(9) != 0, Text(r, 10), Long(r, 11), Long(r, 12), r.GetInt64(13), r.GetInt64(14));

    public static StoredProvider ReadProvider(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.IsDBNull(2) || r.IsDBNull(3) ? null : new SealedSecret((byte[])r.GetValue(3), (byte[])r.GetValue(2)), r.GetInt64(4), r.GetInt64(5));

    public static AuditEntry ReadAudit(DbDataReader r) =>
        new(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), Text(r, 6), Text(r, 7));

    /// <summary>The request log's columns after its cursor (SQLite's rowid, PostgreSQL's seq), in the order <see cref="ReadLogRow"/> reads them.</summary>
    public const string LogColumns = """
        request_id, time, key_id, team, tenant, dialect, model, provider, provider_model, attempts, stream, status, outcome, error_code,
            input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost_nanos, duration_ms, ttft_ms, upstream_ms, request_body, response_body, policies, cache, cache_similarity
        """;

    /// <summary>A request log row selected as its cursor then <see cref="LogColumns"/> (<c>stream</c> an integer on SQLite, a boolean on PostgreSQL).</summary>
    public static LogRow ReadLogRow(DbDataReader r) =>
        new(r.GetInt64(0), r.GetString(1), r.GetInt64(2), Text(r, 3), Text(r, 4), Text(r, 5), r.GetString(6), Text(r, 7), Text(r, 8), Text(r, 9), r.GetInt32(10),
            Convert.ToBoolean(r.GetValue(11), System.Globalization.CultureInfo.InvariantCulture), r.GetInt32(12), r.GetString(13), Text(r, 14), r.GetInt64(15), r.GetInt64(16),
            r.GetInt64(17), r.GetInt64(18), r.GetInt64(19), r.GetDouble(20), r.IsDBNull(21) ? null : r.GetDouble(21), r.GetDouble(22), Text(r, 23), Text(r, 24), Text(r, 25),
            Text(r, 26), r.IsDBNull(27) ? null : r.GetDouble(27));

    /// <summary>Series rows (time, group, requests, errors, hits, input, output, cached, cost, duration sum), in the order read.</summary>
    public static List<Gateway.Core.Analytics.SeriesPoint> ReadSeries(DbDataReader series, Func<DbDataReader> latency)
    {
        var points = new Dictionary<(long, string), Gateway.Core.Analytics.SeriesPoint>();
        var order = new List<Gateway.Core.Analytics.SeriesPoint>();
        using (series)
            while (series.Read())
            {
                var point = new Gateway.Core.Analytics.SeriesPoint(series.GetInt64(0), series.GetString(1), series.GetInt64(2), series.GetInt64(3), series.GetInt64(4),
                    series.GetInt64(5), series.GetInt64(6), series.GetInt64(7), series.GetInt64(8), series.GetDouble(9), new long[Gateway.Core.Analytics.LatencyBuckets.Count]);
                points[(point.Time, point.Group)] = point;
                order.Add(point);
            }
        // Latency rows (time, group, bucket, count) add to the points above; read once the series reader is closed (one command at a time per connection).
        using var buckets = latency();
        while (buckets.Read())
            if (points.TryGetValue((buckets.GetInt64(0), buckets.GetString(1)), out var point))
                point.Latency[Math.Clamp(buckets.GetInt32(2), 0, Gateway.Core.Analytics.LatencyBuckets.Count - 1)] += buckets.GetInt64(3);
        return order;
    }

    public static string? Text(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    public static long? Long(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetInt64(i);

    public static IReadOnlyList<string> Models(string? text) =>
        string.IsNullOrEmpty(text) ? [] : JsonSerializer.Deserialize(text, StorageJson.Default.IReadOnlyListString) ?? [];
}
