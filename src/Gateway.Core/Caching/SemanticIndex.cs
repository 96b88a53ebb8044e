using System.Numerics;
using System.Runtime.InteropServices;

namespace Gateway.Core.Caching;

/// <summary>
/// The semantic cache's nearest-neighbour lookup: the embeddings of stored prompts, in buckets of
/// requests that are the same but for their last user message (same scope, model, parameters and
/// conversation before it), searched flat with SIMD dot products (the vectors are unit length, so the
/// dot product is the cosine). Bounded by vectors: past the bound the oldest go, and a bucket holds at most
/// <see cref="MaxPerBucket"/>, the size a flat search was measured to finish in under a millisecond
/// (bench/RESULTS.md: 10,000 vectors of 384 dimensions in 0.86 ms). A vector points at
/// an exact entry; when that entry is gone (expired, evicted, purged) the vector goes with it.
/// </summary>
public sealed class SemanticIndex(int maxVectors)
{
    private sealed class Bucket(string scope, string model)
    {
        public readonly string Scope = scope, Model = model;
        public readonly List<Vector> Vectors = [];
    }

    private sealed record Vector(float[] Values, CacheKey Entry, long Expires, long Sequence);

    /// <summary>The most vectors one bucket holds (past it, its oldest goes): a search stays under a millisecond.</summary>
    public const int MaxPerBucket = 10_000;

    private readonly Dictionary<CacheKey, Bucket> _buckets = [];
    private readonly Lock _lock = new();
    private long _count, _sequence;

    public long Count
    {
        get
        {
            lock (_lock) return _count;
        }
    }

    public int MaxVectors { get; set; } = maxVectors;

    /// <summary>The closest stored prompt in the bucket at least <paramref name="threshold"/> alike, and how alike.</summary>
    public (CacheKey Entry, double Similarity)? Find(CacheKey bucket, ReadOnlySpan<float> prompt, double threshold, long now)
    {
        lock (_lock)
        {
            if (!_buckets.TryGetValue(bucket, out var found)) return null;
            var vectors = found.Vectors;
            int best = -1;
            float bestScore = float.NegativeInfinity;
            for (int i = vectors.Count - 1; i >= 0; i--)
            {
                var vector = vectors[i];
                if (vector.Expires <= now)
                {
                    vectors.RemoveAt(i);
                    _count--;
                    if (best > i) best--;
                    continue;
                }
                float score = Dot(prompt, vector.Values);
                if (score > bestScore) (best, bestScore) = (i, score);
            }
            if (vectors.Count == 0) _buckets.Remove(bucket);
            return best >= 0 && bestScore >= threshold ? (vectors[best].Entry, Math.Min(1.0, bestScore)) : null;
        }
    }

    public void Add(CacheKey bucket, string scope, string model, float[] prompt, CacheKey entry, long expires)
    {
        lock (_lock)
        {
            if (!_buckets.TryGetValue(bucket, out var found)) _buckets[bucket] = found = new Bucket(scope, model);
            // The same entry stored again (a refresh) replaces its vector.
            int existing = found.Vectors.FindIndex(v => v.Entry == entry);
            if (existing >= 0)
            {
                found.Vectors.RemoveAt(existing);
                _count--;
            }
            if (found.Vectors.Count >= MaxPerBucket)
            {
                found.Vectors.RemoveAt(0); // appended in order: the first is the oldest
                _count--;
            }
            found.Vectors.Add(new Vector(prompt, entry, expires, ++_sequence));
            _count++;
            if (_count > MaxVectors) EvictOldest(_count - MaxVectors);
        }
    }

    /// <summary>A vector whose entry is gone.</summary>
    public void Remove(CacheKey bucket, CacheKey entry)
    {
        lock (_lock)
        {
            if (_buckets.TryGetValue(bucket, out var found) && found.Vectors.RemoveAll(v => v.Entry == entry) is var removed and > 0) _count -= removed;
        }
    }

    public long Purge(string? scope, string? model)
    {
        long purged = 0;
        lock (_lock)
        {
            foreach (var (key, bucket) in _buckets.ToArray())
            {
                if ((scope is not null && bucket.Scope != scope) || (model is not null && bucket.Model != model)) continue;
                purged += bucket.Vectors.Count;
                _buckets.Remove(key);
            }
            _count -= purged;
        }
        return purged;
    }

    // Rare (the bound is far above a working set): a scan for the oldest is fine.
    private void EvictOldest(long excess)
    {
        var oldest = _buckets.SelectMany(b => b.Value.Vectors.Select(v => (Bucket: b.Key, v.Sequence))).OrderBy(v => v.Sequence).Take((int)Math.Max(excess, MaxVectors / 20)).ToList();
        foreach (var (bucket, sequence) in oldest)
        {
            var vectors = _buckets[bucket].Vectors;
            vectors.RemoveAll(v => v.Sequence == sequence);
            _count--;
            if (vectors.Count == 0) _buckets.Remove(bucket);
        }
    }

    /// <summary>The dot product, <see cref="Vector{T}"/> lanes at a time.</summary>
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) return float.NegativeInfinity; // another embedder's vector: never alike
        var sum = Vector<float>.Zero;
        int i = 0;
        var va = MemoryMarshal.Cast<float, Vector<float>>(a);
        var vb = MemoryMarshal.Cast<float, Vector<float>>(b);
        for (; i < va.Length; i++) sum += va[i] * vb[i];
        float total = System.Numerics.Vector.Sum(sum);
        for (i *= Vector<float>.Count; i < a.Length; i++) total += a[i] * b[i];
        return total;
    }
}
