using Gateway.Core.Governance;
using Npgsql;
using NpgsqlTypes;

namespace Gateway.Storage.Postgres;

/// <summary>
/// Request rows into PostgreSQL in batches: the rows by binary COPY (one round trip for the batch, no SQL
/// parsed per row), daily usage and the hourly rollups summed in memory first (<see cref="UsageRollup"/>) and
/// upserted as arrays, all in one transaction. A failure leaves none of the batch written.
/// </summary>
public sealed class PostgresRequestLogStore(PostgresDatabase database) : IRequestLogStore
{
    private const string Copy = """
        COPY request_log (request_id, time, key_id, team, tenant, dialect, model, provider, provider_model, attempts, stream, status, outcome,
            error_code, input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost_nanos, duration_ms, ttft_ms, upstream_ms, request_body, response_body,
            policies, cache, cache_similarity) FROM STDIN (FORMAT BINARY)
        """;

    public void Write(IReadOnlyList<RequestLogRow> rows)
    {
        if (rows.Count == 0) return;
        using var connection = database.Open();
        try
        {
            using var transaction = connection.BeginTransaction();
            using (var copy = connection.BeginBinaryImport(Copy))
            {
                foreach (var row in rows) WriteRow(copy, row);
                copy.Complete();
            }
            var rollup = UsageRollup.Of(rows);
            if (rollup.Days.Count > 0) UsageStatement.Add(connection, transaction, rollup.Days.Select(d => Delta(d.Key, d.Value)).ToList());
            AddHours(connection, transaction, rollup);
            transaction.Commit();
        }
        catch (NpgsqlException ex)
        {
            throw database.Failed(ex);
        }
    }

    private static UsageDelta Delta(UsageRollup.DayKey key, UsageRollup.DaySum sum) =>
        new(key.Day, key.Key, sum.Team, sum.Tenant, key.Model, sum.Requests, sum.Input, sum.Output, sum.Cached, sum.Reasoning, sum.Cost, sum.Hits);

    private static void WriteRow(NpgsqlBinaryImporter copy, in RequestLogRow row)
    {
        copy.StartRow();
        copy.Write(row.Id, NpgsqlDbType.Text);
        copy.Write(row.Time, NpgsqlDbType.Bigint);
        Text(copy, row.KeyId);
        Text(copy, row.Team);
        Text(copy, row.Tenant);
        copy.Write(row.Dialect, NpgsqlDbType.Text);
        Text(copy, row.Model);
        Text(copy, row.Provider);
        Text(copy, row.ProviderModel);
        copy.Write(row.Attempts, NpgsqlDbType.Integer);
        copy.Write(row.Stream, NpgsqlDbType.Boolean);
        copy.Write(row.Status, NpgsqlDbType.Integer);
        copy.Write(row.Outcome, NpgsqlDbType.Text);
        Text(copy, row.ErrorCode);
        copy.Write((long)row.InputTokens, NpgsqlDbType.Bigint);
        copy.Write((long)row.OutputTokens, NpgsqlDbType.Bigint);
        copy.Write((long)row.CachedTokens, NpgsqlDbType.Bigint);
        copy.Write((long)row.ReasoningTokens, NpgsqlDbType.Bigint);
        copy.Write(row.CostNanos, NpgsqlDbType.Bigint);
        copy.Write(row.DurationMs, NpgsqlDbType.Double);
        Real(copy, row.TtftMs);
        copy.Write(row.UpstreamMs, NpgsqlDbType.Double);
        Text(copy, row.RequestBody);
        Text(copy, row.ResponseBody);
        Text(copy, row.Policies);
        Text(copy, row.Cache);
        Real(copy, row.CacheSimilarity);
    }

    private static void Text(NpgsqlBinaryImporter copy, string? value)
    {
        if (value is null) copy.WriteNull();
        else copy.Write(value, NpgsqlDbType.Text);
    }

    private static void Real(NpgsqlBinaryImporter copy, double? value)
    {
        if (value is { } v) copy.Write(v, NpgsqlDbType.Double);
        else copy.WriteNull();
    }

    private static void AddHours(NpgsqlConnection connection, NpgsqlTransaction transaction, UsageRollup rollup)
    {
        if (rollup.Hours.Count == 0) return;
        var hours = rollup.Hours.ToList();
        using (var command = new NpgsqlCommand("""
            INSERT INTO usage_hourly (hour, key_id, team, tenant, model, deployment, requests, errors, cache_hits, input_tokens, output_tokens, cached_tokens, cost_nanos, duration_ms_sum)
            SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[],
                $11::bigint[], $12::bigint[], $13::bigint[], $14::float8[])
            ON CONFLICT (hour, key_id, team, tenant, model, deployment) DO UPDATE SET requests = usage_hourly.requests + excluded.requests,
                errors = usage_hourly.errors + excluded.errors, cache_hits = usage_hourly.cache_hits + excluded.cache_hits,
                input_tokens = usage_hourly.input_tokens + excluded.input_tokens, output_tokens = usage_hourly.output_tokens + excluded.output_tokens,
                cached_tokens = usage_hourly.cached_tokens + excluded.cached_tokens, cost_nanos = usage_hourly.cost_nanos + excluded.cost_nanos,
                duration_ms_sum = usage_hourly.duration_ms_sum + excluded.duration_ms_sum
            """, connection, transaction))
        {
            PostgresGovernanceStore.Bind(command, hours.Select(h => h.Key.Hour).ToArray(), hours.Select(h => h.Key.Key).ToArray(), hours.Select(h => h.Key.Team).ToArray(),
                hours.Select(h => h.Key.Tenant).ToArray(), hours.Select(h => h.Key.Model).ToArray(), hours.Select(h => h.Key.Deployment).ToArray(),
                hours.Select(h => h.Value.Requests).ToArray(), hours.Select(h => h.Value.Errors).ToArray(), hours.Select(h => h.Value.Hits).ToArray(),
                hours.Select(h => h.Value.Input).ToArray(), hours.Select(h => h.Value.Output).ToArray(), hours.Select(h => h.Value.Cached).ToArray(),
                hours.Select(h => h.Value.Cost).ToArray(), hours.Select(h => h.Value.Duration).ToArray());
            command.ExecuteNonQuery();
        }
        var buckets = hours.SelectMany(h => h.Value.Buckets.Select(b => (h.Key, Bucket: b.Key, Count: b.Value))).ToList();
        using (var command = new NpgsqlCommand("""
            INSERT INTO latency_hourly (hour, key_id, team, tenant, model, deployment, bucket, count)
            SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::integer[], $8::bigint[])
            ON CONFLICT (hour, key_id, team, tenant, model, deployment, bucket) DO UPDATE SET count = latency_hourly.count + excluded.count
            """, connection, transaction))
        {
            PostgresGovernanceStore.Bind(command, buckets.Select(b => b.Key.Hour).ToArray(), buckets.Select(b => b.Key.Key).ToArray(), buckets.Select(b => b.Key.Team).ToArray(),
                buckets.Select(b => b.Key.Tenant).ToArray(), buckets.Select(b => b.Key.Model).ToArray(), buckets.Select(b => b.Key.Deployment).ToArray(),
                buckets.Select(b => b.Bucket).ToArray(), buckets.Select(b => b.Count).ToArray());
            command.ExecuteNonQuery();
        }
    }

    public int DeleteOlderThan(long before)
    {
        using var connection = database.Open();
        try
        {
            using var command = new NpgsqlCommand("DELETE FROM request_log WHERE time < $1", connection);
            PostgresGovernanceStore.Bind(command, before);
            return command.ExecuteNonQuery();
        }
        catch (NpgsqlException ex)
        {
            throw database.Failed(ex);
        }
    }
}

/// <summary>Adds usage deltas to <c>usage_daily</c> in one statement (summed per row first: one INSERT may not touch a row twice).</summary>
internal static class UsageStatement
{
    private const string Sql = """
        INSERT INTO usage_daily (day, key_id, team, tenant, model, requests, input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost_nanos, cache_hits)
        SELECT day, key_id, min(team), min(tenant), model, sum(requests), sum(input), sum(output), sum(cached), sum(reasoning), sum(cost), sum(hits)
        FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[])
            AS d(day, key_id, team, tenant, model, requests, input, output, cached, reasoning, cost, hits)
        GROUP BY day, key_id, model
        ON CONFLICT (day, key_id, model) DO UPDATE SET requests = usage_daily.requests + excluded.requests, cache_hits = usage_daily.cache_hits + excluded.cache_hits,
            input_tokens = usage_daily.input_tokens + excluded.input_tokens, output_tokens = usage_daily.output_tokens + excluded.output_tokens,
            cached_tokens = usage_daily.cached_tokens + excluded.cached_tokens, reasoning_tokens = usage_daily.reasoning_tokens + excluded.reasoning_tokens,
            cost_nanos = usage_daily.cost_nanos + excluded.cost_nanos
        """;

    public static void Add(NpgsqlConnection connection, NpgsqlTransaction? transaction, IReadOnlyList<UsageDelta> deltas)
    {
        using var command = Command(connection, transaction, deltas);
        command.ExecuteNonQuery();
    }

    public static async Task AddAsync(NpgsqlConnection connection, IReadOnlyList<UsageDelta> deltas, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, null, deltas);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction? transaction, IReadOnlyList<UsageDelta> deltas)
    {
        var command = new NpgsqlCommand(Sql, connection, transaction);
        PostgresGovernanceStore.Bind(command, deltas.Select(d => d.Day).ToArray(), deltas.Select(d => d.KeyId).ToArray(), deltas.Select(d => d.Team).ToArray(),
            deltas.Select(d => d.Tenant).ToArray(), deltas.Select(d => d.Model).ToArray(), deltas.Select(d => d.Requests).ToArray(),
            deltas.Select(d => d.InputTokens).ToArray(), deltas.Select(d => d.OutputTokens).ToArray(), deltas.Select(d => d.CachedTokens).ToArray(),
            deltas.Select(d => d.ReasoningTokens).ToArray(), deltas.Select(d => d.CostNanos).ToArray(), deltas.Select(d => d.CacheHits).ToArray());
        return command;
    }
}
