using System.Text.Json;
using Gateway.Core.Analytics;
using Gateway.Core.Governance;
using Gateway.Storage.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace Gateway.Storage.Postgres;

/// <summary>The governance store on PostgreSQL, shared by every replica; the same contract as <see cref="SqliteGovernanceStore"/>.</summary>
public sealed class PostgresGovernanceStore(PostgresDatabase database) : IGovernanceStore
{
    public long DirectoryVersion() => Read(c =>
    {
        using var command = new NpgsqlCommand("SELECT value FROM meta WHERE name = 'directory_version'", c);
        return command.ExecuteScalar() is long version ? version : 0;
    });

    public (IReadOnlyList<Tenant> Tenants, IReadOnlyList<Team> Teams, IReadOnlyList<StoredKey> Keys) LoadDirectory() => Read(connection =>
    {
        // One snapshot of the three tables: a change committed between two reads must not show half.
        using var transaction = connection.BeginTransaction(System.Data.IsolationLevel.RepeatableRead);
        var tenants = new List<Tenant>();
        using (var reader = new NpgsqlCommand("SELECT id, name, limits, budget, metadata, created_at, updated_at FROM tenants ORDER BY id", connection, transaction).ExecuteReader())
            while (reader.Read())
                tenants.Add(new Tenant(reader.GetString(0), reader.GetString(1), GovernanceJson.LimitsFromText(Text(reader, 2)), GovernanceJson.BudgetFromText(Text(reader, 3)),
                    Text(reader, 4), reader.GetInt64(5), reader.GetInt64(6)));
        var teams = new List<Team>();
        using (var reader = new NpgsqlCommand("SELECT id, tenant, name, limits, budget, metadata, created_at, updated_at FROM teams ORDER BY id", connection, transaction).ExecuteReader())
            while (reader.Read())
                teams.Add(new Team(reader.GetString(0), Text(reader, 1), reader.GetString(2), GovernanceJson.LimitsFromText(Text(reader, 3)), GovernanceJson.BudgetFromText(Text(reader, 4)),
                    Text(reader, 5), reader.GetInt64(6), reader.GetInt64(7)));
        var keys = new List<StoredKey>();
        using (var reader = new NpgsqlCommand("""
            SELECT id, name, hash, prefix, tenant, team, models, limits, budget, admin, metadata, expires_at, revoked_at, created_at, updated_at FROM keys ORDER BY created_at, id
            """, connection, transaction).ExecuteReader())
            while (reader.Read())
                keys.Add(new StoredKey(reader.GetString(0), reader.GetString(1), (byte[])reader.GetValue(2), reader.GetString(3), Text(reader, 4), Text(reader, 5),
                    Models(Text(reader, 6)), GovernanceJson.LimitsFromText(Text(reader, 7)), GovernanceJson.BudgetFromText(Text(reader, 8)), reader.GetInt64(9) != 0,
                    Text(reader, 10), Long(reader, 11), Long(reader, 12), reader.GetInt64(13), reader.GetInt64(14)));
        transaction.Commit();
        return ((IReadOnlyList<Tenant>)tenants, (IReadOnlyList<Team>)teams, (IReadOnlyList<StoredKey>)keys);
    });

    public void Insert(Tenant tenant, AuditEntry audit) => Change(audit, c => Run(c, """
        INSERT INTO tenants (id, name, limits, budget, metadata, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
        """, tenant.Id, tenant.Name, GovernanceJson.LimitsText(tenant.Limits), GovernanceJson.BudgetText(tenant.Budget), tenant.Metadata, tenant.CreatedAt, tenant.UpdatedAt));

    public void Update(Tenant tenant, AuditEntry audit) => Change(audit, c => Run(c, """
        UPDATE tenants SET name = $2, limits = $3, budget = $4, metadata = $5, updated_at = $7 WHERE id = $1
        """, tenant.Id, tenant.Name, GovernanceJson.LimitsText(tenant.Limits), GovernanceJson.BudgetText(tenant.Budget), tenant.Metadata, tenant.CreatedAt, tenant.UpdatedAt));

    public void Insert(Team team, AuditEntry audit) => Change(audit, c => Run(c, """
        INSERT INTO teams (id, tenant, name, limits, budget, metadata, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        """, team.Id, team.Tenant, team.Name, GovernanceJson.LimitsText(team.Limits), GovernanceJson.BudgetText(team.Budget), team.Metadata, team.CreatedAt, team.UpdatedAt));

    public void Update(Team team, AuditEntry audit) => Change(audit, c => Run(c, """
        UPDATE teams SET tenant = $2, name = $3, limits = $4, budget = $5, metadata = $6, updated_at = $8 WHERE id = $1
        """, team.Id, team.Tenant, team.Name, GovernanceJson.LimitsText(team.Limits), GovernanceJson.BudgetText(team.Budget), team.Metadata, team.CreatedAt, team.UpdatedAt));

    public void Insert(StoredKey key, AuditEntry audit) => Change(audit, c => Run(c, """
        INSERT INTO keys (id, name, hash, prefix, tenant, team, models, limits, budget, admin, metadata, expires_at, revoked_at, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
        """, KeyValues(key)));

    public void Update(StoredKey key, AuditEntry audit) => Change(audit, c => Run(c, """
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
        Change(audit, c => deleted = Run(c, $"DELETE FROM {table} WHERE {column} = $1", id));
        return deleted > 0;
    }

    public IReadOnlyList<AuditEntry> Audit(long? before, int limit, string? entity = null, string? entityId = null) => Read(connection =>
    {
        using var command = new NpgsqlCommand("""
            SELECT id, time, actor, action, entity, entity_id, before, after FROM audit_log
            WHERE ($1::bigint IS NULL OR id < $1) AND ($2::text IS NULL OR entity = $2) AND ($3::text IS NULL OR entity_id = $3)
            ORDER BY id DESC LIMIT $4
            """, connection);
        Bind(command, before, entity, entityId, (long)limit);
        using var reader = command.ExecuteReader();
        var entries = new List<AuditEntry>();
        while (reader.Read())
            entries.Add(new AuditEntry(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5), Text(reader, 6), Text(reader, 7)));
        return (IReadOnlyList<AuditEntry>)entries;
    });

    public IReadOnlyList<StoredProvider> LoadProviders() => Read(connection =>
    {
        using var command = new NpgsqlCommand("SELECT name, config, secret, nonce, created_at, updated_at FROM provider_secrets ORDER BY name", connection);
        using var reader = command.ExecuteReader();
        var providers = new List<StoredProvider>();
        while (reader.Read())
        {
            var secret = reader.IsDBNull(2) || reader.IsDBNull(3) ? null : new SealedSecret((byte[])reader.GetValue(3), (byte[])reader.GetValue(2));
            providers.Add(new StoredProvider(reader.GetString(0), reader.GetString(1), secret, reader.GetInt64(4), reader.GetInt64(5)));
        }
        return (IReadOnlyList<StoredProvider>)providers;
    });

    public void Put(StoredProvider provider, AuditEntry audit) => Change(audit, c => PutRow(c, provider));

    public void ReplaceSecrets(IReadOnlyList<StoredProvider> providers, AuditEntry audit) => Change(audit, c =>
    {
        foreach (var provider in providers) PutRow(c, provider);
    });

    private static void PutRow(NpgsqlCommand c, StoredProvider provider) => Run(c, """
        INSERT INTO provider_secrets (name, config, secret, nonce, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (name) DO UPDATE SET config = excluded.config, secret = excluded.secret, nonce = excluded.nonce, updated_at = excluded.updated_at
        """, provider.Name, provider.Entry, provider.Secret?.Ciphertext, provider.Secret?.Nonce, provider.CreatedAt, provider.UpdatedAt);

    public IReadOnlyList<SpendRow> LoadSpend(long since) => Read(connection =>
    {
        using var command = new NpgsqlCommand("SELECT scope, scope_id, period_start, spent_nanos FROM budget_spend WHERE period_start = 0 OR period_start >= $1", connection);
        Bind(command, since);
        using var reader = command.ExecuteReader();
        var rows = new List<SpendRow>();
        while (reader.Read()) rows.Add(new SpendRow(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3)));
        return (IReadOnlyList<SpendRow>)rows;
    });

    public void AddSpend(IReadOnlyList<SpendRow> deltas)
    {
        if (deltas.Count == 0) return;
        Write(connection =>
        {
            // One statement for the batch: the rows as arrays, summed per budget and period (two deltas for one row
            // in one INSERT ... ON CONFLICT would be an error).
            using var command = new NpgsqlCommand("""
                INSERT INTO budget_spend (scope, scope_id, period_start, spent_nanos)
                SELECT scope, scope_id, period_start, sum(spent) FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS d(scope, scope_id, period_start, spent)
                GROUP BY 1, 2, 3
                ON CONFLICT (scope, scope_id, period_start) DO UPDATE SET spent_nanos = budget_spend.spent_nanos + excluded.spent_nanos
                """, connection);
            Bind(command, deltas.Select(d => d.Scope).ToArray(), deltas.Select(d => d.ScopeId).ToArray(), deltas.Select(d => d.PeriodStart).ToArray(),
                deltas.Select(d => d.SpentNanos).ToArray());
            command.ExecuteNonQuery();
        });
    }

    public long SpentIn(string scope, string scopeId, long periodStart) => Read(connection =>
    {
        using var command = new NpgsqlCommand("SELECT spent_nanos FROM budget_spend WHERE scope = $1 AND scope_id = $2 AND period_start = $3", connection);
        Bind(command, scope, scopeId, periodStart);
        return command.ExecuteScalar() is long spent ? spent : 0;
    });

    public IReadOnlyList<UsageRow> Usage(UsageGroup groupBy, long from, long to) => Read(connection =>
    {
        string column = groupBy switch
        {
            UsageGroup.Key => "key_id",
            UsageGroup.Team => "team",
            UsageGroup.Tenant => "tenant",
            UsageGroup.Model => "model",
            _ => "day",
        };
        using var command = new NpgsqlCommand($"""
            SELECT {column}, sum(requests)::bigint, sum(input_tokens)::bigint, sum(output_tokens)::bigint, sum(cached_tokens)::bigint, sum(cost_nanos)::bigint,
                sum(cache_hits)::bigint FROM usage_daily
            WHERE day >= $1 AND day < $2 GROUP BY {column} ORDER BY sum(cost_nanos) DESC, {column}
            """, connection);
        Bind(command, RequestLogStore.DayOf(from), to);
        using var reader = command.ExecuteReader();
        var rows = new List<UsageRow>();
        while (reader.Read())
        {
            string group = groupBy == UsageGroup.Day
                ? DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(0)).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)
                : reader.GetString(0);
            rows.Add(new UsageRow(group, reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6)));
        }
        return (IReadOnlyList<UsageRow>)rows;
    });

    public (IReadOnlyList<LogRow> Rows, long? NextBefore) Logs(LogQuery query) => Read(connection =>
    {
        using var command = new NpgsqlCommand($"""
            SELECT {LogColumns} FROM request_log
            WHERE ($1::text IS NULL OR key_id = $1) AND ($2::text IS NULL OR model = $2) AND ($3::integer IS NULL OR status = $3)
              AND ($4::text IS NULL OR team = $4) AND ($5::text IS NULL OR tenant = $5)
              AND ($6::bigint IS NULL OR time >= $6) AND ($7::bigint IS NULL OR time < $7) AND ($8::bigint IS NULL OR seq < $8)
            ORDER BY seq DESC LIMIT $9
            """, connection);
        Bind(command, query.Key, query.Model, query.Status, query.Team, query.Tenant, query.From, query.To, query.Before, (long)query.Limit + 1);
        using var reader = command.ExecuteReader();
        var rows = new List<LogRow>();
        while (reader.Read()) rows.Add(ReadLogRow(reader));
        if (rows.Count <= query.Limit) return ((IReadOnlyList<LogRow>)rows, (long?)null);
        rows.RemoveAt(rows.Count - 1);
        return (rows, rows[^1].Cursor);
    });

    private const string LogColumns = """
        seq, request_id, time, key_id, team, tenant, dialect, model, provider, provider_model, attempts, stream, status, outcome, error_code,
            input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost_nanos, duration_ms, ttft_ms, upstream_ms, request_body, response_body, policies, cache, cache_similarity
        """;

    private static LogRow ReadLogRow(NpgsqlDataReader reader) =>
        new(reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), Text(reader, 3), Text(reader, 4), Text(reader, 5), reader.GetString(6), Text(reader, 7),
            Text(reader, 8), Text(reader, 9), reader.GetInt32(10), reader.GetBoolean(11), reader.GetInt32(12), reader.GetString(13), Text(reader, 14),
            reader.GetInt64(15), reader.GetInt64(16), reader.GetInt64(17), reader.GetInt64(18), reader.GetInt64(19), reader.GetDouble(20),
            reader.IsDBNull(21) ? null : reader.GetDouble(21), reader.GetDouble(22), Text(reader, 23), Text(reader, 24), Text(reader, 25), Text(reader, 26),
            reader.IsDBNull(27) ? null : reader.GetDouble(27));

    public IReadOnlyList<SeriesPoint> Series(SeriesQuery query) => Read(connection =>
    {
        string time = query.Interval switch { SeriesInterval.Day => "hour - hour % 86400000", SeriesInterval.Range => "$1", _ => "hour" };
        string group = GroupColumn(query.GroupBy);
        long from = query.Interval == SeriesInterval.Day ? RequestLogStore.DayOf(query.From) : RequestLogStore.HourOf(query.From);
        var points = new Dictionary<(long, string), SeriesPoint>();
        var order = new List<(long, string)>();
        using (var command = new NpgsqlCommand($"""
            SELECT ({time})::bigint, {group}, sum(requests)::bigint, sum(errors)::bigint, sum(cache_hits)::bigint, sum(input_tokens)::bigint, sum(output_tokens)::bigint,
                sum(cached_tokens)::bigint, sum(cost_nanos)::bigint, sum(duration_ms_sum)
            FROM usage_hourly WHERE hour >= $1 AND hour < $2 AND {FilterSql}
            GROUP BY 1, 2 ORDER BY 1, 2
            """, connection))
        {
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
        using (var command = new NpgsqlCommand($"""
            SELECT ({time})::bigint, {group}, bucket, sum(count)::bigint FROM latency_hourly
            WHERE hour >= $1 AND hour < $2 AND {FilterSql} GROUP BY 1, 2, 3
            """, connection))
        {
            Bind(command, from, query.To, query.Filter);
            using var reader = command.ExecuteReader();
            while (reader.Read())
                if (points.TryGetValue((reader.GetInt64(0), reader.GetString(1)), out var point))
                    point.Latency[Math.Clamp(reader.GetInt32(2), 0, LatencyBuckets.Count - 1)] += reader.GetInt64(3);
        }
        return (IReadOnlyList<SeriesPoint>)order.ConvertAll(at => points[at]);
    });

    public IReadOnlyList<LogRow> TopRequests(TopQuery query) => Read(connection =>
    {
        string order = query.Order == TopOrder.Costliest ? "cost_nanos DESC, duration_ms DESC" : "duration_ms DESC";
        using var command = new NpgsqlCommand($"""
            SELECT {LogColumns} FROM request_log
            WHERE time >= $1 AND time < $2 AND {FilterSql.Replace("deployment = $7", "(provider IS NOT NULL AND provider || '/' || coalesce(provider_model, '') = $7)", StringComparison.Ordinal)}
            ORDER BY {order}, seq DESC LIMIT $8
            """, connection);
        Bind(command, query.From, query.To, query.Filter);
        command.Parameters.Add(new NpgsqlParameter { Value = (long)query.Limit, NpgsqlDbType = NpgsqlDbType.Bigint });
        using var reader = command.ExecuteReader();
        var rows = new List<LogRow>();
        while (reader.Read()) rows.Add(ReadLogRow(reader));
        return (IReadOnlyList<LogRow>)rows;
    });

    private const string FilterSql = """
        ($3::text IS NULL OR key_id = $3) AND ($4::text IS NULL OR team = $4) AND ($5::text IS NULL OR tenant = $5)
            AND ($6::text IS NULL OR model = $6) AND ($7::text IS NULL OR deployment = $7)
        """;

    private static string GroupColumn(SeriesGroup group) => group switch
    {
        SeriesGroup.Key => "key_id",
        SeriesGroup.Team => "team",
        SeriesGroup.Tenant => "tenant",
        SeriesGroup.Model => "model",
        SeriesGroup.Deployment => "deployment",
        _ => "''::text",
    };

    private static void Bind(NpgsqlCommand command, long from, long to, AnalyticsFilter filter) =>
        Bind(command, from, to, filter.Key, filter.Team, filter.Tenant, filter.Model, filter.Deployment);

    /// <summary>One change, its audit entry and the directory's version, in one transaction.</summary>
    private void Change(AuditEntry audit, Action<NpgsqlCommand> change) => Write(connection =>
    {
        using var transaction = connection.BeginTransaction();
        using var command = new NpgsqlCommand { Connection = connection, Transaction = transaction };
        try
        {
            change(command);
            Run(command, "INSERT INTO audit_log (time, actor, action, entity, entity_id, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                audit.Time, audit.Actor, audit.Action, audit.Entity, audit.EntityId, audit.Before, audit.After);
            Run(command, "UPDATE meta SET value = value + 1 WHERE name = 'directory_version'");
            transaction.Commit();
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.ForeignKeyViolation)
        {
            transaction.Rollback();
            throw new GovernanceConflictException(ex.SqlState == PostgresErrorCodes.UniqueViolation
                ? $"a {audit.Entity} with the id '{audit.EntityId}' already exists"
                : $"the {audit.Entity} '{audit.EntityId}' refers to something that does not exist, or something still belongs to it");
        }
    });

    private T Read<T>(Func<NpgsqlConnection, T> read)
    {
        using var connection = database.Open();
        try
        {
            return read(connection);
        }
        catch (NpgsqlException ex)
        {
            throw new StorageException($"the store {database.Display}: {ex.Message}", ex);
        }
    }

    private void Write(Action<NpgsqlConnection> write) => Read(connection =>
    {
        write(connection);
        return 0;
    });

    private static int Run(NpgsqlCommand command, string sql, params object?[] values)
    {
        command.CommandText = sql;
        Bind(command, values);
        return command.ExecuteNonQuery();
    }

    /// <summary>Positional parameters ($1, $2, ...), each typed from its value so a null still has a type.</summary>
    internal static void Bind(NpgsqlCommand command, params object?[] values)
    {
        command.Parameters.Clear();
        foreach (var value in values) command.Parameters.Add(value is null ? new NpgsqlParameter { Value = DBNull.Value } : new NpgsqlParameter { Value = value });
    }

    private static string? Text(NpgsqlDataReader reader, int i) => reader.IsDBNull(i) ? null : reader.GetString(i);

    private static long? Long(NpgsqlDataReader reader, int i) => reader.IsDBNull(i) ? null : reader.GetInt64(i);

    private static IReadOnlyList<string> Models(string? text) =>
        string.IsNullOrEmpty(text) ? [] : JsonSerializer.Deserialize(text, StorageJson.Default.IReadOnlyListString) ?? [];
}
