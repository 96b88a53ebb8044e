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
        using (var reader = Query(command, GovernanceSql.SelectTenants))
            while (reader.Read()) tenants.Add(GovernanceSql.ReadTenant(reader));
        var teams = new List<Team>();
        using (var reader = Query(command, GovernanceSql.SelectTeams))
            while (reader.Read()) teams.Add(GovernanceSql.ReadTeam(reader));
        var keys = new List<StoredKey>();
        using (var reader = Query(command, GovernanceSql.SelectKeys))
            while (reader.Read()) keys.Add(GovernanceSql.ReadKey(reader));
        return (tenants, teams, keys);
    }

    public void Insert(Tenant tenant, AuditEntry audit) => Change(audit, true, c => Run(c, GovernanceSql.InsertTenant, GovernanceSql.Values(tenant)));

    public void Update(Tenant tenant, AuditEntry audit) => Change(audit, true, c => Run(c, GovernanceSql.UpdateTenant, GovernanceSql.Values(tenant)));

    public void Insert(Team team, AuditEntry audit) => Change(audit, true, c => Run(c, GovernanceSql.InsertTeam, GovernanceSql.Values(team)));

    public void Update(Team team, AuditEntry audit) => Change(audit, true, c => Run(c, GovernanceSql.UpdateTeam, GovernanceSql.Values(team)));

    public void Insert(StoredKey key, AuditEntry audit) => Change(audit, true, c => Run(c, GovernanceSql.InsertKey, GovernanceSql.Values(key)));

    public void Update(StoredKey key, AuditEntry audit) => Change(audit, true, c => Run(c, GovernanceSql.UpdateKey, GovernanceSql.Values(key)));

    public bool Delete(string entity, string id, AuditEntry audit)
    {
        int deleted = 0;
        Change(audit, true, c => deleted = Run(c, GovernanceSql.DeleteStatement(entity), id));
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
        while (reader.Read()) entries.Add(GovernanceSql.ReadAudit(reader));
        return entries;
    }

    public IReadOnlyList<StoredProvider> LoadProviders()
    {
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = GovernanceSql.SelectProviders;
        using var reader = command.ExecuteReader();
        var providers = new List<StoredProvider>();
        while (reader.Read()) providers.Add(GovernanceSql.ReadProvider(reader));
        return providers;
    }

    public void Put(StoredProvider provider, AuditEntry audit) => Change(audit, true, c => PutRow(c, provider));

    public void ReplaceSecrets(IReadOnlyList<StoredProvider> providers, AuditEntry audit) => Change(audit, true, c =>
    {
        foreach (var provider in providers) PutRow(c, provider);
    });

    private static void PutRow(SqliteCommand c, StoredProvider provider) => Run(c, GovernanceSql.PutProvider, GovernanceSql.Values(provider));

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
        command.CommandText = GovernanceSql.SpentIn;
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
            SELECT rowid, {GovernanceSql.LogColumns} FROM request_log
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
        while (reader.Read()) rows.Add(GovernanceSql.ReadLogRow(reader));
        if (rows.Count <= query.Limit) return (rows, null);
        rows.RemoveAt(rows.Count - 1);
        return (rows, rows[^1].Cursor);
    }

    public IReadOnlyList<SeriesPoint> Series(SeriesQuery query)
    {
        string time = query.Interval switch { SeriesInterval.Day => "hour - hour % 86400000", SeriesInterval.Range => "$from", _ => "hour" };
        string group = GroupColumn(query.GroupBy);
        long from = query.Interval == SeriesInterval.Day ? RequestLogStore.DayOf(query.From) : RequestLogStore.HourOf(query.From);
        using var connection = database.Open();
        using var series = connection.CreateCommand();
        series.CommandText = $"""
            SELECT {time}, {group}, sum(requests), sum(errors), sum(cache_hits), sum(input_tokens), sum(output_tokens), sum(cached_tokens),
                sum(cost_nanos), sum(duration_ms_sum)
            FROM usage_hourly WHERE hour >= $from AND hour < $to AND {FilterSql}
            GROUP BY 1, 2 ORDER BY 1, 2
            """;
        Bind(series, from, query.To, query.Filter);
        using var latency = connection.CreateCommand();
        latency.CommandText = $"""
            SELECT {time}, {group}, bucket, sum(count) FROM latency_hourly
            WHERE hour >= $from AND hour < $to AND {FilterSql} GROUP BY 1, 2, 3
            """;
        Bind(latency, from, query.To, query.Filter);
        return GovernanceSql.ReadSeries(series.ExecuteReader(), latency.ExecuteReader);
    }

    public IReadOnlyList<LogRow> TopRequests(TopQuery query)
    {
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        string order = query.Order == TopOrder.Costliest ? "cost_nanos DESC, duration_ms DESC" : "duration_ms DESC";
        // The range is read through the time index and only the top rows are kept (SQLite's top-N sort),
        // about 4 million rows a second here; the rows themselves (bodies included) are read for those alone.
        command.CommandText = $"""
            SELECT rowid, {GovernanceSql.LogColumns} FROM request_log WHERE rowid IN (
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
        while (reader.Read()) rows.Add(GovernanceSql.ReadLogRow(reader));
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
            Run(command, GovernanceSql.InsertAudit, GovernanceSql.Values(audit));
            if (directory) Run(command, GovernanceSql.NextDirectoryVersion);
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
}

[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class StorageJson : System.Text.Json.Serialization.JsonSerializerContext;
