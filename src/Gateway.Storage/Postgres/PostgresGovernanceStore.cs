using Gateway.Core.Analytics;
using Gateway.Core.Governance;
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
        using (var reader = new NpgsqlCommand(GovernanceSql.SelectTenants, connection, transaction).ExecuteReader())
            while (reader.Read()) tenants.Add(GovernanceSql.ReadTenant(reader));
        var teams = new List<Team>();
        using (var reader = new NpgsqlCommand(GovernanceSql.SelectTeams, connection, transaction).ExecuteReader())
            while (reader.Read()) teams.Add(GovernanceSql.ReadTeam(reader));
        var keys = new List<StoredKey>();
        using (var reader = new NpgsqlCommand(GovernanceSql.SelectKeys, connection, transaction).ExecuteReader())
            while (reader.Read()) keys.Add(GovernanceSql.ReadKey(reader));
        transaction.Commit();
        return ((IReadOnlyList<Tenant>)tenants, (IReadOnlyList<Team>)teams, (IReadOnlyList<StoredKey>)keys);
    });

    public void Insert(Tenant tenant, AuditEntry audit) => Change(audit, c => Run(c, GovernanceSql.InsertTenant, GovernanceSql.Values(tenant)));

    public void Update(Tenant tenant, AuditEntry audit) => Change(audit, c => Run(c, GovernanceSql.UpdateTenant, GovernanceSql.Values(tenant)));

    public void Insert(Team team, AuditEntry audit) => Change(audit, c => Run(c, GovernanceSql.InsertTeam, GovernanceSql.Values(team)));

    public void Update(Team team, AuditEntry audit) => Change(audit, c => Run(c, GovernanceSql.UpdateTeam, GovernanceSql.Values(team)));

    public void Insert(StoredKey key, AuditEntry audit) => Change(audit, c => Run(c, GovernanceSql.InsertKey, GovernanceSql.Values(key)));

    public void Update(StoredKey key, AuditEntry audit) => Change(audit, c => Run(c, GovernanceSql.UpdateKey, GovernanceSql.Values(key)));

    public bool Delete(string entity, string id, AuditEntry audit)
    {
        int deleted = 0;
        Change(audit, c => deleted = Run(c, GovernanceSql.DeleteStatement(entity), id));
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
        while (reader.Read()) entries.Add(GovernanceSql.ReadAudit(reader));
        return (IReadOnlyList<AuditEntry>)entries;
    });

    public IReadOnlyList<StoredProvider> LoadProviders() => Read(connection =>
    {
        using var command = new NpgsqlCommand(GovernanceSql.SelectProviders, connection);
        using var reader = command.ExecuteReader();
        var providers = new List<StoredProvider>();
        while (reader.Read()) providers.Add(GovernanceSql.ReadProvider(reader));
        return (IReadOnlyList<StoredProvider>)providers;
    });

    public void Put(StoredProvider provider, AuditEntry audit) => Change(audit, c => PutRow(c, provider));

    public void ReplaceSecrets(IReadOnlyList<StoredProvider> providers, AuditEntry audit) => Change(audit, c =>
    {
        foreach (var provider in providers) PutRow(c, provider);
    });

    private static void PutRow(NpgsqlCommand c, StoredProvider provider) => Run(c, GovernanceSql.PutProvider, GovernanceSql.Values(provider));

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
        using var command = new NpgsqlCommand(GovernanceSql.SpentIn, connection);
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
        Bind(command, UsageRollup.DayOf(from), to);
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
            SELECT seq, {GovernanceSql.LogColumns} FROM request_log
            WHERE ($1::text IS NULL OR key_id = $1) AND ($2::text IS NULL OR model = $2) AND ($3::integer IS NULL OR status = $3)
              AND ($4::text IS NULL OR team = $4) AND ($5::text IS NULL OR tenant = $5)
              AND ($6::bigint IS NULL OR time >= $6) AND ($7::bigint IS NULL OR time < $7) AND ($8::bigint IS NULL OR seq < $8)
            ORDER BY seq DESC LIMIT $9
            """, connection);
        Bind(command, query.Key, query.Model, query.Status, query.Team, query.Tenant, query.From, query.To, query.Before, (long)query.Limit + 1);
        using var reader = command.ExecuteReader();
        var rows = new List<LogRow>();
        while (reader.Read()) rows.Add(GovernanceSql.ReadLogRow(reader));
        if (rows.Count <= query.Limit) return ((IReadOnlyList<LogRow>)rows, (long?)null);
        rows.RemoveAt(rows.Count - 1);
        return (rows, rows[^1].Cursor);
    });

    public IReadOnlyList<SeriesPoint> Series(SeriesQuery query) => Read(connection =>
    {
        string time = query.Interval switch { SeriesInterval.Day => "hour - hour % 86400000", SeriesInterval.Range => "$1", _ => "hour" };
        string group = GroupColumn(query.GroupBy);
        long from = query.Interval == SeriesInterval.Day ? UsageRollup.DayOf(query.From) : UsageRollup.HourOf(query.From);
        using var series = new NpgsqlCommand($"""
            SELECT ({time})::bigint, {group}, sum(requests)::bigint, sum(errors)::bigint, sum(cache_hits)::bigint, sum(input_tokens)::bigint, sum(output_tokens)::bigint,
                sum(cached_tokens)::bigint, sum(cost_nanos)::bigint, sum(duration_ms_sum)
            FROM usage_hourly WHERE hour >= $1 AND hour < $2 AND {FilterSql}
            GROUP BY 1, 2 ORDER BY 1, 2
            """, connection);
        Bind(series, from, query.To, query.Filter);
        using var latency = new NpgsqlCommand($"""
            SELECT ({time})::bigint, {group}, bucket, sum(count)::bigint FROM latency_hourly
            WHERE hour >= $1 AND hour < $2 AND {FilterSql} GROUP BY 1, 2, 3
            """, connection);
        Bind(latency, from, query.To, query.Filter);
        return (IReadOnlyList<SeriesPoint>)GovernanceSql.ReadSeries(series.ExecuteReader(), latency.ExecuteReader);
    });

    public IReadOnlyList<LogRow> TopRequests(TopQuery query) => Read(connection =>
    {
        string order = query.Order == TopOrder.Costliest ? "cost_nanos DESC, duration_ms DESC" : "duration_ms DESC";
        using var command = new NpgsqlCommand($"""
            SELECT seq, {GovernanceSql.LogColumns} FROM request_log
            WHERE time >= $1 AND time < $2 AND {FilterSql.Replace("deployment = $7", "(provider IS NOT NULL AND provider || '/' || coalesce(provider_model, '') = $7)", StringComparison.Ordinal)}
            ORDER BY {order}, seq DESC LIMIT $8
            """, connection);
        Bind(command, query.From, query.To, query.Filter);
        command.Parameters.Add(new NpgsqlParameter { Value = (long)query.Limit, NpgsqlDbType = NpgsqlDbType.Bigint });
        using var reader = command.ExecuteReader();
        var rows = new List<LogRow>();
        while (reader.Read()) rows.Add(GovernanceSql.ReadLogRow(reader));
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
            Run(command, GovernanceSql.InsertAudit, GovernanceSql.Values(audit));
            Run(command, GovernanceSql.NextDirectoryVersion);
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
            throw database.Failed(ex);
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
}
