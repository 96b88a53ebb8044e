namespace Gateway.Core.Caching;

/// <summary>Where cached answers are kept: in this process, or in a store replicas share.</summary>
public interface IResponseCacheStore
{
    /// <summary>The entry under <paramref name="key"/> if it has not expired at <paramref name="now"/> (Unix ms).</summary>
    ValueTask<CachedAnswer?> GetAsync(CacheKey key, long now, CancellationToken cancellationToken);

    /// <summary>Stores (or replaces) an entry; one larger than the whole cache is not stored.</summary>
    ValueTask SetAsync(CachedAnswer answer, CancellationToken cancellationToken);

    /// <summary>Removes the entries of <paramref name="scope"/> and <paramref name="model"/> (null: any); returns how many.</summary>
    ValueTask<long> PurgeAsync(string? scope, string? model, CancellationToken cancellationToken);

    /// <summary>Entries and bytes held now.</summary>
    CacheStoreStats Stats { get; }
}

public readonly record struct CacheStoreStats(long Entries, long Bytes, long MaxBytes, long Evicted);
