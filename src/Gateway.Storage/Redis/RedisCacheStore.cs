using Gateway.Core.Caching;
using Gateway.Core.Sse;
using StackExchange.Redis;

namespace Gateway.Storage.Redis;

/// <summary>
/// Cached answers in Redis (<c>cache.store: "redis"</c>), shared by every replica: an answer stored by one is a
/// hit on all. Bounded by bytes like the other stores: past <see cref="MaxBytes"/> the least recently used
/// go, counted exactly across replicas because every store, eviction and purge is one Lua script. Per entry
/// a hash (<c>…c:e:{key}</c>, expiring with the entry); beside them, recency and expiry as sorted sets,
/// sizes, the byte total, and an index per scope and per model for purges. A hit refreshes its recency
/// without waiting for Redis's answer. A Redis that does not answer makes a lookup a miss and a store a
/// no-op: the cache never fails a request.
/// </summary>
public sealed class RedisCacheStore : IResponseCacheStore, IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly RedisConnection _redis;
    private readonly string _p;
    private long _entries, _bytes, _evicted;

    public RedisCacheStore(RedisConnection redis, long maxBytes)
    {
        _redis = redis;
        _p = redis.Prefix + "c:";
        MaxBytes = maxBytes;
        _ = RefreshEveryAsync(TimeSpan.FromSeconds(5));
    }

    // The totals other replicas change, read again now and then for metrics and the admin API.
    private async Task RefreshEveryAsync(TimeSpan interval)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            await RefreshAsync().ConfigureAwait(false);
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false)) await RefreshAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
    }

    public long MaxBytes { get; }

    public CacheStoreStats Stats => new(Interlocked.Read(ref _entries), Interlocked.Read(ref _bytes), MaxBytes, Interlocked.Read(ref _evicted));

    // drop(h): an entry and everything about it, its bytes taken off the total.
    private const string Drop = """
        local function drop(p, h)
          local e = p .. 'e:' .. h
          local owner = redis.call('HMGET', e, 'scope', 'model')
          if owner[1] then redis.call('SREM', p .. 's:' .. owner[1], h) end
          if owner[2] then redis.call('SREM', p .. 'm:' .. owner[2], h) end
          local size = redis.call('HGET', p .. 'size', h)
          if size then
            redis.call('DECRBY', p .. 'bytes', size)
            redis.call('HDEL', p .. 'size', h)
          end
          redis.call('ZREM', p .. 'lru', h)
          redis.call('ZREM', p .. 'exp', h)
          redis.call('DEL', e)
        end
        local function stats(p)
          return {redis.call('ZCARD', p .. 'lru'), tonumber(redis.call('GET', p .. 'bytes') or '0'), tonumber(redis.call('GET', p .. 'evicted') or '0')}
        end
        """;

    // ARGV: prefix, hash, now, maxBytes, size, expires, then the entry's fields and values.
    private const string SetScript = Drop + "\n" + """
        local p, h, now, max, size, expires = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
        drop(p, h)
        local e = p .. 'e:' .. h
        local fields = {}
        for i = 7, #ARGV do fields[#fields + 1] = ARGV[i] end
        redis.call('HSET', e, unpack(fields))
        redis.call('PEXPIREAT', e, expires)
        redis.call('ZADD', p .. 'lru', now, h)
        redis.call('ZADD', p .. 'exp', expires, h)
        redis.call('HSET', p .. 'size', h, size)
        redis.call('INCRBY', p .. 'bytes', size)
        redis.call('SADD', p .. 's:' .. redis.call('HGET', e, 'scope'), h)
        redis.call('SADD', p .. 'm:' .. redis.call('HGET', e, 'model'), h)
        for _, dead in ipairs(redis.call('ZRANGEBYSCORE', p .. 'exp', '-inf', now, 'LIMIT', 0, 100)) do drop(p, dead) end
        while tonumber(redis.call('GET', p .. 'bytes') or '0') > max do
          local oldest = redis.call('ZRANGE', p .. 'lru', 0, 0)
          if #oldest == 0 then break end
          drop(p, oldest[1])
          redis.call('INCR', p .. 'evicted')
        end
        return stats(p)
        """;

    // ARGV: prefix, scope or '', model or ''.
    private const string PurgeScript = Drop + "\n" + """
        local p, scope, model = ARGV[1], ARGV[2], ARGV[3]
        local victims
        if scope ~= '' and model ~= '' then victims = redis.call('SINTER', p .. 's:' .. scope, p .. 'm:' .. model)
        elseif scope ~= '' then victims = redis.call('SMEMBERS', p .. 's:' .. scope)
        elseif model ~= '' then victims = redis.call('SMEMBERS', p .. 'm:' .. model)
        else victims = redis.call('ZRANGE', p .. 'lru', 0, -1) end
        local purged = 0
        for _, h in ipairs(victims) do
          if redis.call('EXISTS', p .. 'e:' .. h) == 1 then purged = purged + 1 end
          drop(p, h)
        end
        local s = stats(p)
        s[4] = purged
        return s
        """;

    private const string StatsScript = Drop + "\nreturn stats(ARGV[1])";

    public async ValueTask<CachedAnswer?> GetAsync(CacheKey key, long now, CancellationToken cancellationToken)
    {
        string h = Hex(key);
        HashEntry[] fields;
        try
        {
            fields = await _redis.Database.HashGetAllAsync(_p + "e:" + h).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return null;
        }
        if (fields.Length == 0) return null;
        var entry = Read(key, fields);
        if (entry is null || entry.Expires <= now) return null;
        try
        {
            await _redis.Database.SortedSetAddAsync(_p + "lru", h, now, SortedSetWhen.Exists, CommandFlags.FireAndForget).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
        }
        return entry;
    }

    public async ValueTask SetAsync(CachedAnswer answer, CancellationToken cancellationToken)
    {
        if (answer.Size > MaxBytes) return;
        var u = answer.Usage;
        RedisValue[] args =
        [
            _p, Hex(answer.Key), answer.Stored, MaxBytes, answer.Size, answer.Expires,
            "scope", answer.Scope, "model", answer.Model, "form", (int)answer.Form, "type", answer.ContentType, "body", answer.Body,
            "stored", answer.Stored, "expires", answer.Expires,
            "pt", u.PromptTokens, "ct", u.CompletionTokens, "tt", u.TotalTokens, "cached", u.CachedTokens, "rt", u.ReasoningTokens,
        ];
        try
        {
            Keep((RedisResult[])(await _redis.Database.ScriptEvaluateAsync(SetScript, [], args).ConfigureAwait(false))!);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
        }
    }

    public async ValueTask<long> PurgeAsync(string? scope, string? model, CancellationToken cancellationToken)
    {
        try
        {
            var reply = (RedisResult[])(await _redis.Database.ScriptEvaluateAsync(PurgeScript, [], [_p, scope ?? "", model ?? ""]).ConfigureAwait(false))!;
            Keep(reply);
            return (long)reply[3];
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw new Gateway.Core.Governance.SharedStoreException($"Redis {_redis.Display}: {ex.Message}", ex);
        }
    }

    /// <summary>Reads the shared totals again (another replica's stores and evictions change them).</summary>
    public async Task RefreshAsync()
    {
        try
        {
            Keep((RedisResult[])(await _redis.Database.ScriptEvaluateAsync(StatsScript, [], [_p]).ConfigureAwait(false))!);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
        }
    }

    private void Keep(RedisResult[] stats)
    {
        Interlocked.Exchange(ref _entries, (long)stats[0]);
        Interlocked.Exchange(ref _bytes, (long)stats[1]);
        Interlocked.Exchange(ref _evicted, (long)stats[2]);
    }

    private static CachedAnswer? Read(CacheKey key, HashEntry[] fields)
    {
        string? scope = null, model = null, type = null;
        byte[]? body = null;
        long stored = 0, expires = 0;
        int form = 0, pt = 0, ct = 0, tt = 0, cached = 0, rt = 0;
        foreach (var field in fields)
        {
            switch ((string?)field.Name)
            {
                case "scope": scope = field.Value; break;
                case "model": model = field.Value; break;
                case "type": type = field.Value; break;
                case "body": body = field.Value; break;
                case "form": form = (int)field.Value; break;
                case "stored": stored = (long)field.Value; break;
                case "expires": expires = (long)field.Value; break;
                case "pt": pt = (int)field.Value; break;
                case "ct": ct = (int)field.Value; break;
                case "tt": tt = (int)field.Value; break;
                case "cached": cached = (int)field.Value; break;
                case "rt": rt = (int)field.Value; break;
            }
        }
        // Half an entry (written by a build that kept other fields) is a miss, not a broken answer.
        if (scope is null || model is null || type is null || body is null || !Enum.IsDefined((CachedForm)form)) return null;
        return new CachedAnswer(key, scope, model, (CachedForm)form, type, body, stored, expires, new TokenUsage(pt, ct, tt, cached, rt));
    }

    private static string Hex(CacheKey key)
    {
        Span<byte> bytes = stackalloc byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(bytes, key.Hash);
        return Convert.ToHexStringLower(bytes);
    }
}
