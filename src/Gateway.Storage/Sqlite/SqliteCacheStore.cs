using System.Collections.Concurrent;
using Gateway.Core.Caching;
using Gateway.Core.Sse;
using Microsoft.Data.Sqlite;

namespace Gateway.Storage.Sqlite;

/// <summary>
/// Cached answers in the store's SQLite database (<c>cache.store: "sqlite"</c>), so they outlive a restart.
/// Bounded by bytes like the memory store: past the bound the least recently used go, "used" being kept to
/// the minute (a hit updates its row at most once a minute, so reads stay reads). A lookup reads one row
/// on a pooled connection; stores, evictions and purges are written one at a time off the request's path
/// (<see cref="IResponseCacheStore.SetAsync"/> returns at once). The size bound is this process's view: another
/// process writing the same file is not counted until the next start.
/// </summary>
public sealed class SqliteCacheStore : IResponseCacheStore, IDisposable
{
    private const long TouchEveryMs = 60_000;
    private readonly SqliteDatabase _database;
    private readonly ConcurrentBag<SqliteConnection> _readers = [];
    private readonly WriteBehind _writes = new(ex => ex is SqliteException or StorageException);
    private long _entries, _bytes, _evicted;

    public SqliteCacheStore(SqliteDatabase database, long maxBytes, long now)
    {
        _database = database;
        MaxBytes = maxBytes;
        using var connection = database.Open();
        using (var expired = connection.CreateCommand())
        {
            expired.CommandText = "DELETE FROM response_cache WHERE expires <= $now";
            expired.Parameters.AddWithValue("$now", now);
            expired.ExecuteNonQuery();
        }
        Recount(connection);
    }

    public long MaxBytes { get; }

    public CacheStoreStats Stats => new(Interlocked.Read(ref _entries), Interlocked.Read(ref _bytes), MaxBytes, Interlocked.Read(ref _evicted));

    public ValueTask<CachedAnswer?> GetAsync(CacheKey key, long now, CancellationToken cancellationToken)
    {
        var connection = Rent();
        CachedAnswer? found = null;
        long lastUsed = 0;
        try
        {
            using var command = connection.CreateCommand();
            command.CommandText = """
                SELECT scope, model, form, content_type, body, stored, expires, last_used,
                       prompt_tokens, completion_tokens, total_tokens, cached_tokens, reasoning_tokens
                FROM response_cache WHERE key = $key
                """;
            command.Parameters.AddWithValue("$key", key.ToBytes());
            using var reader = command.ExecuteReader();
            if (reader.Read())
            {
                long expires = reader.GetInt64(6);
                lastUsed = reader.GetInt64(7);
                if (expires > now)
                    found = new CachedAnswer(key, reader.GetString(0), reader.GetString(1), (CachedForm)reader.GetInt32(2), reader.GetString(3),
                        (byte[])reader.GetValue(4), reader.GetInt64(5), expires,
                        new TokenUsage(reader.GetInt32(8), reader.GetInt32(9), reader.GetInt32(10), reader.GetInt32(11), reader.GetInt32(12)));
                else _writes.Quietly(() => Delete(key));
            }
        }
        finally
        {
            _readers.Add(connection);
        }
        if (found is not null && now - lastUsed >= TouchEveryMs) _writes.Quietly(() => Touch(key, now));
        return ValueTask.FromResult(found);
    }

    public ValueTask SetAsync(CachedAnswer answer, CancellationToken cancellationToken)
    {
        if (answer.Size > MaxBytes) return ValueTask.CompletedTask;
        return new ValueTask(_writes.Run(() => Insert(answer)));
    }

    public async ValueTask<long> PurgeAsync(string? scope, string? model, CancellationToken cancellationToken)
    {
        long purged = 0;
        await _writes.Run(() =>
        {
            using var connection = _database.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM response_cache WHERE ($scope IS NULL OR scope = $scope) AND ($model IS NULL OR model = $model)";
            command.Parameters.AddWithValue("$scope", (object?)scope ?? DBNull.Value);
            command.Parameters.AddWithValue("$model", (object?)model ?? DBNull.Value);
            purged = command.ExecuteNonQuery();
            Recount(connection);
        }).ConfigureAwait(false);
        return purged;
    }

    private void Insert(CachedAnswer answer)
    {
        using var connection = _database.Open();
        using var transaction = connection.BeginTransaction();
        long replaced = 0;
        using (var old = connection.CreateCommand())
        {
            old.Transaction = transaction;
            old.CommandText = "SELECT size FROM response_cache WHERE key = $key";
            old.Parameters.AddWithValue("$key", answer.Key.ToBytes());
            if (old.ExecuteScalar() is long size) replaced = size;
        }
        using (var insert = connection.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = """
                INSERT OR REPLACE INTO response_cache (key, scope, model, form, content_type, body, stored, expires, last_used, size,
                    prompt_tokens, completion_tokens, total_tokens, cached_tokens, reasoning_tokens)
                VALUES ($key, $scope, $model, $form, $type, $body, $stored, $expires, $stored, $size, $prompt, $completion, $total, $cached, $reasoning)
                """;
            var p = insert.Parameters;
            p.AddWithValue("$key", answer.Key.ToBytes());
            p.AddWithValue("$scope", answer.Scope);
            p.AddWithValue("$model", answer.Model);
            p.AddWithValue("$form", (int)answer.Form);
            p.AddWithValue("$type", answer.ContentType);
            p.AddWithValue("$body", answer.Body);
            p.AddWithValue("$stored", answer.Stored);
            p.AddWithValue("$expires", answer.Expires);
            p.AddWithValue("$size", answer.Size);
            p.AddWithValue("$prompt", answer.Usage.PromptTokens);
            p.AddWithValue("$completion", answer.Usage.CompletionTokens);
            p.AddWithValue("$total", answer.Usage.TotalTokens);
            p.AddWithValue("$cached", answer.Usage.CachedTokens);
            p.AddWithValue("$reasoning", answer.Usage.ReasoningTokens);
            insert.ExecuteNonQuery();
        }
        if (replaced == 0) Interlocked.Increment(ref _entries);
        Interlocked.Add(ref _bytes, answer.Size - replaced);
        if (Interlocked.Read(ref _bytes) > MaxBytes) Evict(connection, transaction);
        transaction.Commit();
    }

    // The least recently used go, one at a time (each an index lookup), until the entries fit.
    private void Evict(SqliteConnection connection, SqliteTransaction transaction)
    {
        using var oldest = connection.CreateCommand();
        oldest.Transaction = transaction;
        oldest.CommandText = "DELETE FROM response_cache WHERE key = (SELECT key FROM response_cache ORDER BY last_used LIMIT 1) RETURNING size";
        while (Interlocked.Read(ref _bytes) > MaxBytes && oldest.ExecuteScalar() is long size)
        {
            Interlocked.Add(ref _bytes, -size);
            Interlocked.Decrement(ref _entries);
            Interlocked.Increment(ref _evicted);
        }
    }

    private void Delete(CacheKey key)
    {
        using var connection = _database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM response_cache WHERE key = $key RETURNING size";
        command.Parameters.AddWithValue("$key", key.ToBytes());
        if (command.ExecuteScalar() is long size)
        {
            Interlocked.Add(ref _bytes, -size);
            Interlocked.Decrement(ref _entries);
        }
    }

    private void Touch(CacheKey key, long now)
    {
        using var connection = _database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE response_cache SET last_used = $now WHERE key = $key";
        command.Parameters.AddWithValue("$now", now);
        command.Parameters.AddWithValue("$key", key.ToBytes());
        command.ExecuteNonQuery();
    }

    private void Recount(SqliteConnection connection)
    {
        using var totals = connection.CreateCommand();
        totals.CommandText = "SELECT count(*), coalesce(sum(size), 0) FROM response_cache";
        using var reader = totals.ExecuteReader();
        reader.Read();
        Interlocked.Exchange(ref _entries, reader.GetInt64(0));
        Interlocked.Exchange(ref _bytes, reader.GetInt64(1));
    }

    private SqliteConnection Rent() => _readers.TryTake(out var connection) ? connection : _database.Open();

    public void Dispose()
    {
        _writes.Drain(TimeSpan.FromSeconds(5));
        while (_readers.TryTake(out var connection)) connection.Dispose();
    }
}
