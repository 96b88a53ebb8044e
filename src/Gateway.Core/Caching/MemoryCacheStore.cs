namespace Gateway.Core.Caching;

/// <summary>
/// Cached answers in this process, bounded by bytes: past the bound the least recently used entries go.
/// One lock around a map and a recency list: a hit holds it for a lookup and a move (well under a
/// microsecond), and nothing is read or written under it but references.
/// </summary>
public sealed class MemoryCacheStore(long maxBytes) : IResponseCacheStore
{
    private readonly Dictionary<CacheKey, LinkedListNode<CachedAnswer>> _entries = [];
    private readonly LinkedList<CachedAnswer> _recency = new(); // most recent first
    private readonly Lock _lock = new();
    private long _bytes, _evicted;

    /// <summary>The bound, in bytes; lowering it evicts at the next store.</summary>
    public long MaxBytes { get; set; } = maxBytes;

    public ValueTask<CachedAnswer?> GetAsync(CacheKey key, long now, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out var node)) return ValueTask.FromResult<CachedAnswer?>(null);
            if (node.Value.Expires <= now)
            {
                Remove(node);
                return ValueTask.FromResult<CachedAnswer?>(null);
            }
            _recency.Remove(node);
            _recency.AddFirst(node);
            return ValueTask.FromResult<CachedAnswer?>(node.Value);
        }
    }

    public ValueTask SetAsync(CachedAnswer answer, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_entries.TryGetValue(answer.Key, out var old)) Remove(old);
            if (answer.Size > MaxBytes) return ValueTask.CompletedTask;
            var node = _recency.AddFirst(answer);
            _entries[answer.Key] = node;
            _bytes += answer.Size;
            while (_bytes > MaxBytes && _recency.Last is { } last)
            {
                Remove(last);
                _evicted++;
            }
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask<long> PurgeAsync(string? scope, string? model, CancellationToken cancellationToken)
    {
        long purged = 0;
        lock (_lock)
        {
            for (var node = _recency.First; node is not null;)
            {
                var next = node.Next;
                if ((scope is null || node.Value.Scope == scope) && (model is null || node.Value.Model == model))
                {
                    Remove(node);
                    purged++;
                }
                node = next;
            }
        }
        return ValueTask.FromResult(purged);
    }

    public CacheStoreStats Stats
    {
        get
        {
            lock (_lock) return new CacheStoreStats(_entries.Count, _bytes, MaxBytes, _evicted);
        }
    }

    private void Remove(LinkedListNode<CachedAnswer> node)
    {
        _recency.Remove(node);
        _entries.Remove(node.Value.Key);
        _bytes -= node.Value.Size;
    }
}
