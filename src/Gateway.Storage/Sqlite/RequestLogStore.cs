using Gateway.Core.Analytics;
using Gateway.Core.Governance;
using Microsoft.Data.Sqlite;

namespace Gateway.Storage.Sqlite;

/// <summary>
/// Writes request rows in batches: one transaction per batch, each row into <c>request_log</c>, and the
/// batch's usage summed in memory first, so <c>usage_daily</c> takes one upsert per key, model and day
/// in the batch rather than one per row, and the analytics rollups one per hour and group. Prepared statements are reused across a batch.
/// </summary>
public sealed class RequestLogStore(SqliteDatabase database) : IRequestLogStore
{
    private const string InsertLog = """
        INSERT INTO request_log (request_id, time, key_id, team, tenant, dialect, model, provider, provider_model, attempts, stream, status, outcome,
            error_code, input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost_nanos, duration_ms, ttft_ms, upstream_ms, request_body, response_body, policies, cache, cache_similarity)
        VALUES ($id, $time, $key, $team, $tenant, $dialect, $model, $provider, $providerModel, $attempts, $stream, $status, $outcome,
            $error, $input, $output, $cached, $reasoning, $cost, $duration, $ttft, $upstream, $requestBody, $responseBody, $policies, $cache, $similarity)
        """;

    private const string AddUsage = """
        INSERT INTO usage_daily (day, key_id, team, tenant, model, requests, input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost_nanos, cache_hits)
        VALUES ($day, $key, $team, $tenant, $model, $requests, $input, $output, $cached, $reasoning, $cost, $hits)
        ON CONFLICT (day, key_id, model) DO UPDATE SET requests = requests + excluded.requests, cache_hits = cache_hits + excluded.cache_hits,
            input_tokens = input_tokens + excluded.input_tokens,
            output_tokens = output_tokens + excluded.output_tokens, cached_tokens = cached_tokens + excluded.cached_tokens,
            reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens, cost_nanos = cost_nanos + excluded.cost_nanos
        """;

    private const string AddHour = """
        INSERT INTO usage_hourly (hour, key_id, team, tenant, model, deployment, requests, errors, cache_hits, input_tokens, output_tokens, cached_tokens, cost_nanos, duration_ms_sum)
        VALUES ($hour, $key, $team, $tenant, $model, $deployment, $requests, $errors, $hits, $input, $output, $cached, $cost, $duration)
        ON CONFLICT (hour, key_id, team, tenant, model, deployment) DO UPDATE SET requests = requests + excluded.requests, errors = errors + excluded.errors,
            cache_hits = cache_hits + excluded.cache_hits, input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens,
            cached_tokens = cached_tokens + excluded.cached_tokens, cost_nanos = cost_nanos + excluded.cost_nanos, duration_ms_sum = duration_ms_sum + excluded.duration_ms_sum
        """;

    private const string AddLatency = """
        INSERT INTO latency_hourly (hour, key_id, team, tenant, model, deployment, bucket, count)
        VALUES ($hour, $key, $team, $tenant, $model, $deployment, $bucket, $count)
        ON CONFLICT (hour, key_id, team, tenant, model, deployment, bucket) DO UPDATE SET count = count + excluded.count
        """;

    /// <summary>Writes the rows in one transaction; a failure leaves none of them written.</summary>
    public void Write(IReadOnlyList<RequestLogRow> rows)
    {
        if (rows.Count == 0) return;
        using var connection = database.Open();
        using var transaction = connection.BeginTransaction();
        using var log = new RowInsert(connection);
        using var hour = Command(connection, transaction, AddHour, "$hour", "$key", "$team", "$tenant", "$model", "$deployment", "$requests", "$errors", "$hits",
            "$input", "$output", "$cached", "$cost", "$duration");
        using var latency = Command(connection, transaction, AddLatency, "$hour", "$key", "$team", "$tenant", "$model", "$deployment", "$bucket", "$count");
        using var usage = Command(connection, transaction, AddUsage, "$day", "$key", "$team", "$tenant", "$model", "$requests", "$input", "$output", "$cached", "$reasoning", "$cost",
            "$hits");
        foreach (var row in rows) log.Insert(row);
        var rollup = UsageRollup.Of(rows);
        foreach (var ((day, keyId, model), sum) in rollup.Days)
        {
            Set(usage, day, keyId, sum.Team, sum.Tenant, model, sum.Requests, sum.Input, sum.Output, sum.Cached, sum.Reasoning, sum.Cost, sum.Hits);
            usage.ExecuteNonQuery();
        }
        foreach (var ((h, key, team, tenant, model, deployment), sum) in rollup.Hours)
        {
            Set(hour, h, key, team, tenant, model, deployment, sum.Requests, sum.Errors, sum.Hits, sum.Input, sum.Output, sum.Cached, sum.Cost, sum.Duration);
            hour.ExecuteNonQuery();
            foreach (var (bucket, count) in sum.Buckets)
            {
                Set(latency, h, key, team, tenant, model, deployment, bucket, count);
                latency.ExecuteNonQuery();
            }
        }
        transaction.Commit();
    }

    /// <summary>The UTC day a time falls in, as Unix milliseconds of its midnight.</summary>
    public static long DayOf(long unixMs) => UsageRollup.DayOf(unixMs);

    /// <summary>Deletes request rows older than <paramref name="before"/> (Unix ms); daily usage stays.</summary>
    public int DeleteOlderThan(long before)
    {
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM request_log WHERE time < $before";
        command.Parameters.AddWithValue("$before", before);
        return command.ExecuteNonQuery();
    }

    /// <summary>
    /// The per-row insert as one prepared statement bound by position through SQLite's own API:
    /// Microsoft.Data.Sqlite looks every parameter up by name on every execution (26 lookups a row,
    /// 3% of a request's CPU under load) and boxes each value. Runs inside the batch's transaction
    /// (same connection); a failure is the <see cref="SqliteException"/> the writer already handles.
    /// </summary>
    private sealed class RowInsert : IDisposable
    {
        private readonly SQLitePCL.sqlite3 _db;
        private readonly SQLitePCL.sqlite3_stmt _statement;

        public RowInsert(SqliteConnection connection)
        {
            _db = connection.Handle!;
            Check(SQLitePCL.raw.sqlite3_prepare_v2(_db, InsertLog, out _statement));
            // The parameters are numbered in the order the SQL names them: $id is 1, ... $similarity is 27.
            if (SQLitePCL.raw.sqlite3_bind_parameter_count(_statement) != 27 || SQLitePCL.raw.sqlite3_bind_parameter_index(_statement, "$similarity") != 27)
                throw new InvalidOperationException("the request log insert's parameters are not the 27 this writer binds");
        }

        public void Insert(in RequestLogRow row)
        {
            Text(1, row.Id);
            Int(2, row.Time);
            Text(3, row.KeyId);
            Text(4, row.Team);
            Text(5, row.Tenant);
            Text(6, row.Dialect);
            Text(7, row.Model);
            Text(8, row.Provider);
            Text(9, row.ProviderModel);
            Int(10, row.Attempts);
            Int(11, row.Stream ? 1 : 0);
            Int(12, row.Status);
            Text(13, row.Outcome);
            Text(14, row.ErrorCode);
            Int(15, row.InputTokens);
            Int(16, row.OutputTokens);
            Int(17, row.CachedTokens);
            Int(18, row.ReasoningTokens);
            Int(19, row.CostNanos);
            Real(20, row.DurationMs);
            Real(21, row.TtftMs);
            Real(22, row.UpstreamMs);
            Text(23, row.RequestBody);
            Text(24, row.ResponseBody);
            Text(25, row.Policies);
            Text(26, row.Cache);
            Real(27, row.CacheSimilarity);
            int done = SQLitePCL.raw.sqlite3_step(_statement);
            SQLitePCL.raw.sqlite3_reset(_statement);
            if (done != SQLitePCL.raw.SQLITE_DONE) Check(done);
        }

        private void Text(int index, string? value) =>
            Check(value is null ? SQLitePCL.raw.sqlite3_bind_null(_statement, index) : SQLitePCL.raw.sqlite3_bind_text(_statement, index, value));

        private void Int(int index, long value) => Check(SQLitePCL.raw.sqlite3_bind_int64(_statement, index, value));

        private void Real(int index, double? value) =>
            Check(value is { } v ? SQLitePCL.raw.sqlite3_bind_double(_statement, index, v) : SQLitePCL.raw.sqlite3_bind_null(_statement, index));

        private void Check(int code)
        {
            if (code is not (SQLitePCL.raw.SQLITE_OK or SQLitePCL.raw.SQLITE_DONE or SQLitePCL.raw.SQLITE_ROW))
                throw new SqliteException(SQLitePCL.raw.sqlite3_errmsg(_db).utf8_to_string(), code);
        }

        public void Dispose() => _statement?.Dispose();
    }

    /// <summary>The UTC hour a time falls in, as Unix milliseconds of its start.</summary>
    public static long HourOf(long unixMs) => UsageRollup.HourOf(unixMs);

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction transaction, string sql, params string[] names)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var name in names) command.Parameters.Add(new SqliteParameter { ParameterName = name });
        command.Prepare();
        return command;
    }

    private static void Set(SqliteCommand command, params object?[] values)
    {
        for (int i = 0; i < values.Length; i++) command.Parameters[i].Value = values[i] ?? DBNull.Value;
    }
}
