using System.Text.Json;
using Gateway.Core.Analytics;
using Gateway.Core.Governance;
using Microsoft.Data.Sqlite;

namespace Gateway.Storage.Sqlite;

/// <summary>The governance store on the gateway's SQLite file; see <see cref="IGovernanceStore"/>.</summary>
public sealed class SqliteGovernanceStore(SqliteDatabase database) : IGovernanceStore
{
    private const int ConstraintError = 19; // SQLITE_CONSTRAINT and its extended codes

    public long DirectoryVersion()
    {
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT value FROM meta WHERE name = 'directory_version'";
        return command.ExecuteScalar() is long version ? version : 0;
    }

    public (IReadOnlyList<Tenant> Tenants, IReadOnlyList<Team> Teams, IReadOnlyList<StoredKey> Keys) LoadDirectory()
    {
        using var connection = database.Open();
        using var transaction = connection.BeginTransaction(deferred: true);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        var tenants = new List<Tenant>();
        using (var reader = Query(command, "SELECT id, name, limits, budget, metadata, created_at, updated_at FROM tenants ORDER BY id"))
            while (reader.Read())
                tenants.Add(new Tenant(reader.GetString(0), reader.GetString(1), GovernanceJson.LimitsFromText(Text(reader, 2)), GovernanceJson.BudgetFromText(Text(reader, 3)),
                    Text(reader, 4), reader.GetInt64(5), reader.GetInt64(6)));
        var teams = new List<Team>();
        using (var reader = Query(command, "SELECT id, tenant, name, limits, budget, metadata, created_at, updated_at FROM teams ORDER BY id"))
            while (reader.Read())
                teams.Add(new Team(reader.GetString(0), Text(reader, 1), reader.GetString(2), GovernanceJson.LimitsFromText(Text(reader, 3)), GovernanceJson.BudgetFromText(Text(reader, 4)),
                    Text(reader, 5), reader.GetInt64(6), reader.GetInt64(7)));
        var keys = new List<StoredKey>();
        using (var reader = Query(command, """
            SELECT id, name, hash, prefix, tenant, team, models, limits, budget, admin, metadata, expires_at, revoked_at, created_at, updated_at FROM keys ORDER BY created_at, id
            """))
            while (reader.Read())
                keys.Add(new StoredKey(reader.GetString(0), reader.GetString(1), (byte[])reader.GetValue(2), reader.GetString(3), Text(reader, 4), Text(reader, 5),
                    Models(Text(reader, 6)), GovernanceJson.LimitsFromText(Text(reader, 7)), GovernanceJson.BudgetFromText(Text(reader, 8)), reader.GetInt64(9) != 0,
                    Text(reader, 10), Long(reader, 11), Long(reader, 12), reader.GetInt64(13), reader.GetInt64(14)));
        return (tenants, teams, keys);
    }

    public void Insert(Tenant tenant, AuditEntry audit) => Change(audit, true, c => Run(c, """
        INSERT INTO tenants (id, name, limits, budget, metadata, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
        """, tenant.Id, tenant.Name, GovernanceJson.LimitsText(tenant.Limits), GovernanceJson.BudgetText(tenant.Budget), tenant.Metadata, tenant.CreatedAt, tenant.UpdatedAt));

    public void Update(Tenant tenant, AuditEntry audit) => Change(audit, true, c => Run(c, """
        UPDATE tenants SET name = $2, limits = $3, budget = $4, metadata = $5, updated_at = $7 WHERE id = $1
        """, tenant.Id, tenant.Name, GovernanceJson.LimitsText(tenant.Limits), GovernanceJson.BudgetText(tenant.Budget), tenant.Metadata, tenant.CreatedAt, tenant.UpdatedAt));

    public void Insert(Team team, AuditEntry audit) => Change(audit, true, c => Run(c, """
        INSERT INTO teams (id, tenant, name, limits, budget, metadata, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        """, team.Id, team.Tenant, team.Name, GovernanceJson.LimitsText(team.Limits), GovernanceJson.BudgetText(team.Budget), team.Metadata, team.CreatedAt, team.UpdatedAt));

    public void Update(Team team, AuditEntry audit) => Change(audit, true, c => Run(c, """
        UPDATE teams SET tenant = $2, name = $3, limits = $4, budget = $5, metadata = $6, updated_at = $8 WHERE id = $1
        """, team.Id, team.Tenant, team.Name, GovernanceJson.LimitsText(team.Limits), GovernanceJson.BudgetText(team.Budget), team.Metadata, team.CreatedAt, team.UpdatedAt));

    public void Insert(StoredKey key, AuditEntry audit) => Change(audit, true, c => Run(c, """
        INSERT INTO keys (id, name, hash, prefix, tenant, team, models, limits, budget, admin, metadata, expires_at, revoked_at, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
        """, KeyValues(key)));

    public void Update(StoredKey key, AuditEntry audit) => Change(audit, true, c => Run(c, """
        UPDATE keys SET name = $2, tenant = $5, team = $6, models = $7, limits = $8, budget = $9, admin = $10, metadata = $11, expires_at = $12,
            revoked_at = $13, updated_at = $15 WHERE id = $1
        """, KeyValues(key)));

    private static object?[] KeyValues(StoredKey key) =>
        [key.Id, key.Name, key.Hash, key.Prefix, key.Tenant, key.Team, key.Models.Count == 0 ? null : JsonSerializer.Serialize(key.Models, StorageJson.Default.IReadOnlyListString),
         GovernanceJson.LimitsText(key.Limits), GovernanceJson.BudgetText(key.Budget), key.Admin ? 1L : 0L, key.Metadata, key.ExpiresAt, key.RevokedAt, key.CreatedAt, key.UpdatedAt];

    public bool Delete(string entity, string id, AuditEntry audit)
    {
        string table = entity switch { "tenant" => "tenants", "team" => "teams", "key" => "keys", "provider" => "provider_secrets", _ => throw new ArgumentOutOfRangeException(nameof(entity)) };
        string column = entity == "provider" ? "name" : "id";
        int deleted = 0;
        Change(audit, true, c => deleted = Run(c, $"DELETE FROM {table} WHERE {column} = $1", id));
        return deleted > 0;
    }

    public IReadOnlyList<AuditEntry> Audit(long? before, int limit, string? entity = null, string? entityId = null)
    {
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT id, time, actor, action, entity, entity_id, before, after FROM audit_log
            WHERE ($before IS NULL OR id < $before) AND ($entity IS NULL OR entity = $entity) AND ($entityId IS NULL OR entity_id = $entityId)
            ORDER BY id DESC LIMIT $limit
            """;
        command.Parameters.AddWithValue("$before", (object?)before ?? DBNull.Value);
        command.Parameters.AddWithValue("$entity", (object?)entity ?? DBNull.Value);
        command.Parameters.AddWithValue("$entityId", (object?)entityId ?? DBNull.Value);
        command.Parameters.AddWithValue("$limit", limit);
        using var reader = command.ExecuteReader();
        var entries = new List<AuditEntry>();
        while (reader.Read())
            entries.Add(new AuditEntry(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5), Text(reader, 6), Text(reader, 7)));
        return entries;
    }

    public IReadOnlyList<StoredProvider> LoadProviders()
    {
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name, config, secret, nonce, created_at, updated_at FROM provider_secrets ORDER BY name";
        using var reader = command.ExecuteReader();
        var providers = new List<StoredProvider>();
        while (reader.Read())
        {
            var secret = reader.IsDBNull(2) || reader.IsDBNull(3) ? null : new SealedSecret((byte[])reader.GetValue(3), (byte[])reader.GetValue(2));
            providers.Add(new StoredProvider(reader.GetString(0), reader.GetString(1), secret, reader.GetInt64(4), reader.GetInt64(5)));
        }
        return providers;
    }

    public void Put(StoredProvider provider, AuditEntry audit) => Change(audit, true, c => PutRow(c, provider));

    public void ReplaceSecrets(IReadOnlyList<StoredProvider> providers, AuditEntry audit) => Change(audit, true, c =>
    {
        foreach (var provider in providers) PutRow(c, provider);
    });

    private static void PutRow(SqliteCommand c, StoredProvider provider) => Run(c, """
        INSERT INTO provider_secrets (name, config, secret, nonce, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (name) DO UPDATE SET config = excluded.config, secret = excluded.secret, nonce = excluded.nonce, updated_at = excluded.updated_at
        """, provider.Name, provider.Entry, provider.Secret?.Ciphertext, provider.Secret?.Nonce, provider.CreatedAt, provider.UpdatedAt);

    public IReadOnlyList<SpendRow> LoadSpend(long since)
    {
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT scope, scope_id, period_start, spent_nanos FROM budget_spend WHERE period_start = 0 OR period_start >= $since";
        command.Parameters.AddWithValue("$since", since);
        using var reader = command.ExecuteReader();
        var rows = new List<SpendRow>();
        while (reader.Read()) rows.Add(new SpendRow(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3)));
        return rows;
    }

    public void AddSpend(IReadOnlyList<SpendRow> deltas)
    {
        if (deltas.Count == 0) return;
        using var connection = database.Open();
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO budget_spend (scope, scope_id, period_start, spent_nanos) VALUES ($1, $2, $3, $4)
            ON CONFLICT (scope, scope_id, period_start) DO UPDATE SET spent_nanos = spent_nanos + excluded.spent_nanos
            """;
        foreach (var delta in deltas)
        {
            Bind(command, delta.Scope, delta.ScopeId, delta.PeriodStart, delta.SpentNanos);
            command.ExecuteNonQuery();
        }
        transaction.Commit();
    }

    public long SpentIn(string scope, string scopeId, long periodStart)
    {
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT spent_nanos FROM budget_spend WHERE scope = $1 AND scope_id = $2 AND period_start = $3";
        Bind(command, scope, scopeId, periodStart);
        return command.ExecuteScalar() is long spent ? spent : 0;
    }

    public IReadOnlyList<UsageRow> Usage(UsageGroup groupBy, long from, long to)
    {
        string column = groupBy switch
        {
            UsageGroup.Key => "key_id",
            UsageGroup.Team => "team",
            UsageGroup.Tenant => "tenant",
            UsageGroup.Model => "model",
            _ => "day",
        };
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT {column}, sum(requests), sum(input_tokens), sum(output_tokens), sum(cached_tokens), sum(cost_nanos), sum(cache_hits) FROM usage_daily
            WHERE day >= $from AND day < $to GROUP BY {column} ORDER BY sum(cost_nanos) DESC, {column}
            """;
        command.Parameters.AddWithValue("$from", RequestLogStore.DayOf(from));
        command.Parameters.AddWithValue("$to", to);
        using var reader = command.ExecuteReader();
        var rows = new List<UsageRow>();
        while (reader.Read())
        {
            string group = groupBy == UsageGroup.Day
                ? DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(0)).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)
                : reader.GetString(0);
            rows.Add(new UsageRow(group, reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6)));
        }
        return rows;
    }

    public (IReadOnlyList<LogRow> Rows, long? NextBefore) Logs(LogQuery query)
    {
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT {LogColumns} FROM request_log
            WHERE ($key IS NULL OR key_id = $key) AND ($model IS NULL OR model = $model) AND ($status IS NULL OR status = $status)
              AND ($team IS NULL OR team = $team) AND ($tenant IS NULL OR tenant = $tenant)
              AND ($from IS NULL OR time >= $from) AND ($to IS NULL OR time < $to) AND ($before IS NULL OR rowid < $before)
            ORDER BY rowid DESC LIMIT $limit
            """;
        command.Parameters.AddWithValue("$key", (object?)query.Key ?? DBNull.Value);
        command.Parameters.AddWithValue("$model", (object?)query.Model ?? DBNull.Value);
        command.Parameters.AddWithValue("$status", (object?)query.Status ?? DBNull.Value);
        command.Parameters.AddWithValue("$team", (object?)query.Team ?? DBNull.Value);
        command.Parameters.AddWithValue("$tenant", (object?)query.Tenant ?? DBNull.Value);
        command.Parameters.AddWithValue("$from", (object?)query.From ?? DBNull.Value);
        command.Parameters.AddWithValue("$to", (object?)query.To ?? DBNull.Value);
        command.Parameters.AddWithValue("$before", (object?)query.Before ?? DBNull.Value);
        command.Parameters.AddWithValue("$limit", query.Limit + 1);
        using var reader = command.ExecuteReader();
        var rows = new List<LogRow>();
        while (reader.Read()) rows.Add(ReadLogRow(reader));
        if (rows.Count <= query.Limit) return (rows, null);
        rows.RemoveAt(rows.Count - 1);
        return (rows, rows[^1].Cursor);
    }

    private const string LogColumns = """
        rowid, request_id, time, key_id, team, tenant, dialect, model, provider, provider_model, attempts, stream, status, outcome, error_code,
            input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost_nanos, duration_ms, ttft_ms, upstream_ms, request_body, response_body, policies, cache, cache_similarity
        """;

    private static LogRow ReadLogRow(SqliteDataReader reader) =>
        new(reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), Text(reader, 3), Text(reader, 4), Text(reader, 5), reader.GetString(6), Text(reader, 7),
            Text(reader, 8), Text(reader, 9), reader.GetInt32(10), reader.GetInt64(11) != 0, reader.GetInt32(12), reader.GetString(13), Text(reader, 14),
            reader.GetInt64(15), reader.GetInt64(16), reader.GetInt64(17), reader.GetInt64(18), reader.GetInt64(19), reader.GetDouble(20),
            reader.IsDBNull(21) ? null : reader.GetDouble(21), reader.GetDouble(22), Text(reader, 23), Text(reader, 24), Text(reader, 25), Text(reader, 26),
            reader.IsDBNull(27) ? null : reader.GetDouble(27));

    public IReadOnlyList<SeriesPoint> Series(SeriesQuery query)
    {
        string time = query.Interval switch { SeriesInterval.Day => "hour - hour % 86400000", SeriesInterval.Range => "$from", _ => "hour" };
        string group = GroupColumn(query.GroupBy);
        long from = query.Interval == SeriesInterval.Day ? RequestLogStore.DayOf(query.From) : RequestLogStore.HourOf(query.From);
        using var connection = database.Open();
        var points = new Dictionary<(long, string), SeriesPoint>();
        var order = new List<(long, string)>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = $"""
                SELECT {time}, {group}, sum(requests), sum(errors), sum(cache_hits), sum(input_tokens), sum(output_tokens), sum(cached_tokens),
                    sum(cost_nanos), sum(duration_ms_sum)
                FROM usage_hourly WHERE hour >= $from AND hour < $to AND {FilterSql}
                GROUP BY 1, 2 ORDER BY 1, 2
                """;
            Bind(command, from, query.To, query.Filter);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var at = (reader.GetInt64(0), reader.GetString(1));
                points[at] = new SeriesPoint(at.Item1, at.Item2, reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6),
                    reader.GetInt64(7), reader.GetInt64(8), reader.GetDouble(9), new long[LatencyBuckets.Count]);
                order.Add(at);
            }
        }
        using (var command = connection.CreateCommand())
        {
            command.CommandText = $"""
                SELECT {time}, {group}, bucket, sum(count) FROM latency_hourly
                WHERE hour >= $from AND hour < $to AND {FilterSql} GROUP BY 1, 2, 3
                """;
            Bind(command, from, query.To, query.Filter);
            using var reader = command.ExecuteReader();
            while (reader.Read())
                if (points.TryGetValue((reader.GetInt64(0), reader.GetString(1)), out var point))
                    point.Latency[Math.Clamp(reader.GetInt32(2), 0, LatencyBuckets.Count - 1)] += reader.GetInt64(3);
        }
        return order.ConvertAll(at => points[at]);
    }

    public IReadOnlyList<LogRow> TopRequests(TopQuery query)
    {
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        string order = query.Order == TopOrder.Costliest ? "cost_nanos DESC, duration_ms DESC" : "duration_ms DESC";
        // The range is read through the time index and only the top rows are kept (SQLite's top-N sort),
        // about 4 million rows a second here; the rows themselves (bodies included) are read for those alone.
        command.CommandText = $"""
            SELECT {LogColumns} FROM request_log WHERE rowid IN (
                SELECT rowid FROM request_log
                WHERE time >= $from AND time < $to AND ($key IS NULL OR key_id = $key) AND ($team IS NULL OR team = $team) AND ($tenant IS NULL OR tenant = $tenant)
                  AND ($model IS NULL OR model = $model) AND ($deployment IS NULL OR (provider IS NOT NULL AND provider || '/' || coalesce(provider_model, '') = $deployment))
                ORDER BY {order}, rowid DESC LIMIT $limit)
            ORDER BY {order}, rowid DESC
            """;
        Bind(command, query.From, query.To, query.Filter);
        command.Parameters.AddWithValue("$limit", query.Limit);
        using var reader = command.ExecuteReader();
        var rows = new List<LogRow>();
        while (reader.Read()) rows.Add(ReadLogRow(reader));
        return rows;
    }

    private const string FilterSql = """
        ($key IS NULL OR key_id = $key) AND ($team IS NULL OR team = $team) AND ($tenant IS NULL OR tenant = $tenant)
            AND ($model IS NULL OR model = $model) AND ($deployment IS NULL OR deployment = $deployment)
        """;

    private static string GroupColumn(SeriesGroup group) => group switch
    {
        SeriesGroup.Key => "key_id",
        SeriesGroup.Team => "team",
        SeriesGroup.Tenant => "tenant",
        SeriesGroup.Model => "model",
        SeriesGroup.Deployment => "deployment",
        _ => "''",
    };

    private static void Bind(SqliteCommand command, long from, long to, AnalyticsFilter filter)
    {
        command.Parameters.AddWithValue("$from", from);
        command.Parameters.AddWithValue("$to", to);
        command.Parameters.AddWithValue("$key", (object?)filter.Key ?? DBNull.Value);
        command.Parameters.AddWithValue("$team", (object?)filter.Team ?? DBNull.Value);
        command.Parameters.AddWithValue("$tenant", (object?)filter.Tenant ?? DBNull.Value);
        command.Parameters.AddWithValue("$model", (object?)filter.Model ?? DBNull.Value);
        command.Parameters.AddWithValue("$deployment", (object?)filter.Deployment ?? DBNull.Value);
    }

    /// <summary>One change, its audit entry, and (for the directory) the version, in one transaction.</summary>
    private void Change(AuditEntry audit, bool directory, Action<SqliteCommand> change)
    {
        using var connection = database.Open();
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        try
        {
            change(command);
            Run(command, "INSERT INTO audit_log (time, actor, action, entity, entity_id, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                audit.Time, audit.Actor, audit.Action, audit.Entity, audit.EntityId, audit.Before, audit.After);
            if (directory) Run(command, "UPDATE meta SET value = value + 1 WHERE name = 'directory_version'");
            transaction.Commit();
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == ConstraintError)
        {
            transaction.Rollback();
            throw new GovernanceConflictException(ex.SqliteExtendedErrorCode switch
            {
                1555 or 2067 => $"a {audit.Entity} with the id '{audit.EntityId}' already exists", // PRIMARYKEY, UNIQUE
                787 => $"the {audit.Entity} '{audit.EntityId}' refers to something that does not exist, or something still belongs to it", // FOREIGNKEY
                _ => $"the {audit.Entity} '{audit.EntityId}' conflicts with what is stored: {ex.Message}",
            });
        }
    }

    private static int Run(SqliteCommand command, string sql, params object?[] values)
    {
        command.CommandText = sql;
        Bind(command, values);
        return command.ExecuteNonQuery();
    }

    private static void Bind(SqliteCommand command, params object?[] values)
    {
        command.Parameters.Clear();
        for (int i = 0; i < values.Length; i++) command.Parameters.AddWithValue("$" + (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), values[i] ?? DBNull.Value);
    }

    /// <summary>One command reused for each query of a read (its reader is closed before the next).</summary>
    private static SqliteDataReader Query(SqliteCommand command, string sql)
    {
        command.CommandText = sql;
        return command.ExecuteReader();
    }

    private static string? Text(SqliteDataReader reader, int i) => reader.IsDBNull(i) ? null : reader.GetString(i);

    private static long? Long(SqliteDataReader reader, int i) => reader.IsDBNull(i) ? null : reader.GetInt64(i);

    private static IReadOnlyList<string> Models(string? text) =>
        string.IsNullOrEmpty(text) ? [] : JsonSerializer.Deserialize(text, StorageJson.Default.IReadOnlyListString) ?? [];
}

[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class StorageJson : System.Text.Json.Serialization.JsonSerializerContext;
