using Gateway.Core.Caching;
using Gateway.Core.Sse;
using Npgsql;

namespace Gateway.Storage.Postgres;

/// <summary>
/// Cached answers in the PostgreSQL store (<c>cache.store: "database"</c>), kept across restarts and shared by
/// every replica on the database: the same table as SQLite's (migration 5). Bounded by bytes across replicas:
/// the totals live in <c>meta</c> (<c>cache_entries</c>, <c>cache_bytes</c>), updated in each write's own
/// transaction, whose row lock also takes the replicas' writes one at a time; past the bound the least
/// recently used go. A lookup reads one row; stores, evictions and recency updates are written off the
/// request's path (<see cref="SetAsync"/> returns at once), and a database that fails makes a lookup a miss.
/// </summary>
public sealed class PostgresCacheStore : IResponseCacheStore, IDisposable
{
    private const long TouchEveryMs = 60_000;
    private readonly PostgresDatabase _database;
    private readonly WriteBehind _writes = new(ex => GatewayStore.IsStoreFailure(ex) || ex is NpgsqlException);
    private readonly CancellationTokenSource _stop = new();
    private long _entries, _bytes, _evicted;

    public PostgresCacheStore(PostgresDatabase database, long maxBytes)
    {
        _database = database;
        MaxBytes = maxBytes;
        using (var connection = database.Open())
        using (var command = new NpgsqlCommand("""
            INSERT INTO meta (name, value) VALUES ('cache_entries', 0), ('cache_bytes', 0) ON CONFLICT (name) DO NOTHING
            """, connection))
            command.ExecuteNonQuery();
        Refresh();
        _ = RefreshEveryAsync(TimeSpan.FromSeconds(5));
    }

    public long MaxBytes { get; }

    public CacheStoreStats Stats => new(Interlocked.Read(ref _entries), Interlocked.Read(ref _bytes), MaxBytes, Interlocked.Read(ref _evicted));

    public async ValueTask<CachedAnswer?> GetAsync(CacheKey key, long now, CancellationToken cancellationToken)
    {
        CachedAnswer? found = null;
        long lastUsed = 0;
        try
        {
            await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = new NpgsqlCommand("""
                SELECT scope, model, form, content_type, body, stored, expires, last_used, prompt_tokens, completion_tokens, total_tokens, cached_tokens, reasoning_tokens
                FROM response_cache WHERE key = $1
                """, connection);
            command.Parameters.Add(new NpgsqlParameter { Value = key.ToBytes() });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                long expires = reader.GetInt64(6);
                lastUsed = reader.GetInt64(7);
                if (expires > now)
                    found = new CachedAnswer(key, reader.GetString(0), reader.GetString(1), (CachedForm)reader.GetInt32(2), reader.GetString(3), (byte[])reader.GetValue(4),
                        reader.GetInt64(5), expires, new TokenUsage(reader.GetInt32(8), reader.GetInt32(9), reader.GetInt32(10), reader.GetInt32(11), reader.GetInt32(12)));
            }
        }
        catch (Exception ex) when (GatewayStore.IsStoreFailure(ex) || ex is NpgsqlException)
        {
            return null;
        }
        if (found is not null && now - lastUsed >= TouchEveryMs) _writes.Quietly(() => Touch(key, now));
        return found;
    }

    public ValueTask SetAsync(CachedAnswer answer, CancellationToken cancellationToken)
    {
        if (answer.Size > MaxBytes) return ValueTask.CompletedTask;
        return new ValueTask(_writes.Run(() => Insert(answer)));
    }

    public async ValueTask<long> PurgeAsync(string? scope, string? model, CancellationToken cancellationToken)
    {
        long purged = 0;
        await _writes.Run(() => purged = Write((connection, transaction) =>
        {
            using var command = new NpgsqlCommand("""
                WITH gone AS (DELETE FROM response_cache WHERE ($1::text IS NULL OR scope = $1) AND ($2::text IS NULL OR model = $2) RETURNING size)
                SELECT count(*), coalesce(sum(size), 0)::bigint FROM gone
                """, connection, transaction);
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)scope ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)model ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            var (count, bytes) = Pair(command);
            AddTotals(connection, transaction, -count, -bytes);
            return count;
        })).ConfigureAwait(false);
        return purged;
    }

    private void Insert(CachedAnswer answer) => Write((connection, transaction) =>
    {
        // The totals first: this row's lock is what takes the replicas' cache writes one at a time.
        var (entries, bytes) = AddTotals(connection, transaction, 0, 0);
        using (var replace = new NpgsqlCommand("""
            WITH old AS (DELETE FROM response_cache WHERE key = $1 OR expires <= $2 RETURNING size)
            SELECT count(*), coalesce(sum(size), 0)::bigint FROM old
            """, connection, transaction))
        {
            replace.Parameters.Add(new NpgsqlParameter { Value = answer.Key.ToBytes() });
            replace.Parameters.Add(new NpgsqlParameter { Value = answer.Stored });
            var (gone, goneBytes) = Pair(replace);
            entries -= gone;
            bytes -= goneBytes;
        }
        using (var insert = new NpgsqlCommand("""
            INSERT INTO response_cache (key, scope, model, form, content_type, body, stored, expires, last_used, size,
                prompt_tokens, completion_tokens, total_tokens, cached_tokens, reasoning_tokens)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7, $9, $10, $11, $12, $13, $14)
            """, connection, transaction))
        {
            PostgresGovernanceStore.Bind(insert, answer.Key.ToBytes(), answer.Scope, answer.Model, (int)answer.Form, answer.ContentType, answer.Body, answer.Stored,
                answer.Expires, answer.Size, answer.Usage.PromptTokens, answer.Usage.CompletionTokens, answer.Usage.TotalTokens, answer.Usage.CachedTokens, answer.Usage.ReasoningTokens);
            insert.ExecuteNonQuery();
        }
        entries++;
        bytes += answer.Size;
        if (bytes > MaxBytes)
        {
            // The least recently used go until the rest fit: the newest first, those past the bound deleted in one statement.
            using var evict = new NpgsqlCommand("""
                WITH ranked AS (SELECT key, sum(size) OVER (ORDER BY last_used DESC, stored DESC, key) AS running FROM response_cache),
                     gone AS (DELETE FROM response_cache c USING ranked r WHERE c.key = r.key AND r.running > $1 RETURNING c.size)
                SELECT count(*), coalesce(sum(size), 0)::bigint FROM gone
                """, connection, transaction);
            evict.Parameters.Add(new NpgsqlParameter { Value = MaxBytes });
            var (evicted, evictedBytes) = Pair(evict);
            entries -= evicted;
            bytes -= evictedBytes;
            Interlocked.Add(ref _evicted, evicted);
        }
        SetTotals(connection, transaction, entries, bytes);
        return 0L;
    });

    private void Touch(CacheKey key, long now)
    {
        using var connection = _database.Open();
        using var command = new NpgsqlCommand("UPDATE response_cache SET last_used = $1 WHERE key = $2", connection);
        PostgresGovernanceStore.Bind(command, now, key.ToBytes());
        command.ExecuteNonQuery();
    }

    /// <summary>Adds to the shared totals (locking their rows until the transaction ends) and returns them.</summary>
    private static (long Entries, long Bytes) AddTotals(NpgsqlConnection connection, NpgsqlTransaction transaction, long entries, long bytes)
    {
        using var command = new NpgsqlCommand("""
            UPDATE meta SET value = value + CASE name WHEN 'cache_entries' THEN $1 ELSE $2 END WHERE name IN ('cache_entries', 'cache_bytes') RETURNING name, value
            """, connection, transaction);
        PostgresGovernanceStore.Bind(command, entries, bytes);
        return Totals(command);
    }

    private void SetTotals(NpgsqlConnection connection, NpgsqlTransaction transaction, long entries, long bytes)
    {
        using var command = new NpgsqlCommand("""
            UPDATE meta SET value = CASE name WHEN 'cache_entries' THEN $1 ELSE $2 END WHERE name IN ('cache_entries', 'cache_bytes')
            """, connection, transaction);
        PostgresGovernanceStore.Bind(command, Math.Max(0, entries), Math.Max(0, bytes));
        command.ExecuteNonQuery();
        Interlocked.Exchange(ref _entries, Math.Max(0, entries));
        Interlocked.Exchange(ref _bytes, Math.Max(0, bytes));
    }

    private static (long Entries, long Bytes) Totals(NpgsqlCommand command)
    {
        long entries = 0, bytes = 0;
        using var reader = command.ExecuteReader();
        while (reader.Read())
            if (reader.GetString(0) == "cache_entries") entries = reader.GetInt64(1);
            else bytes = reader.GetInt64(1);
        return (entries, bytes);
    }

    private static (long Count, long Bytes) Pair(NpgsqlCommand command)
    {
        using var reader = command.ExecuteReader();
        reader.Read();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>Reads the shared totals again (other replicas' writes move them).</summary>
    public void Refresh()
    {
        try
        {
            using var connection = _database.Open();
            using var command = new NpgsqlCommand("SELECT name, value FROM meta WHERE name IN ('cache_entries', 'cache_bytes')", connection);
            var (entries, bytes) = Totals(command);
            Interlocked.Exchange(ref _entries, entries);
            Interlocked.Exchange(ref _bytes, bytes);
        }
        catch (Exception ex) when (GatewayStore.IsStoreFailure(ex) || ex is NpgsqlException)
        {
        }
    }

    private async Task RefreshEveryAsync(TimeSpan interval)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false)) await Task.Run(Refresh).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private long Write(Func<NpgsqlConnection, NpgsqlTransaction, long> write)
    {
        using var connection = _database.Open();
        try
        {
            using var transaction = connection.BeginTransaction();
            long result = write(connection, transaction);
            transaction.Commit();
            return result;
        }
        catch (NpgsqlException ex)
        {
            throw _database.Failed(ex);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _writes.Drain(TimeSpan.FromSeconds(5));
    }
}
