namespace Gateway.Core.Analytics;

/// <summary>
/// The latency histogram the analytics rollups keep per hour and group: log-scale buckets, four per
/// doubling (each about 19% wide), from 0.1 ms to about 23 minutes. Bucket <c>i</c> holds durations in
/// (<c>Upper(i-1)</c>, <c>Upper(i)</c>]; the last one also takes everything longer. Percentiles read
/// from merged buckets are within one bucket's width of the exact value, whatever the number of
/// requests, so hours and groups add up without keeping every duration.
/// </summary>
public static class LatencyBuckets
{
    /// <summary>Bucket count: 0.1 ms × 2^(95/4) ≈ 1 380 000 ms for the last bound.</summary>
    public const int Count = 96;
    private const double First = 0.1;

    /// <summary>The bucket a duration in milliseconds falls in.</summary>
    public static int Of(double ms)
    {
        if (!(ms > First)) return 0; // NaN and negatives too
        int i = (int)Math.Ceiling(4 * Math.Log2(ms / First) - 1e-9);
        return Math.Clamp(i, 0, Count - 1);
    }

    /// <summary>The upper bound of bucket <paramref name="i"/> in milliseconds.</summary>
    public static double Upper(int i) => First * Math.Pow(2, i / 4.0);

    /// <summary>The lower bound of bucket <paramref name="i"/> in milliseconds (0 for the first).</summary>
    public static double Lower(int i) => i == 0 ? 0 : Upper(i - 1);

    /// <summary>
    /// The <paramref name="q"/>-quantile (0..1) of a histogram given as bucket counts, interpolated
    /// linearly inside the bucket the rank falls in (as Prometheus' <c>histogram_quantile</c> does);
    /// null when the histogram is empty.
    /// </summary>
    public static double? Quantile(ReadOnlySpan<long> counts, double q)
    {
        long total = 0;
        foreach (long c in counts) total += c;
        if (total == 0) return null;
        double rank = Math.Clamp(q, 0, 1) * total;
        long seen = 0;
        for (int i = 0; i < counts.Length; i++)
        {
            if (counts[i] == 0) continue;
            if (seen + counts[i] >= rank)
            {
                double within = (rank - seen) / counts[i];
                return Lower(i) + (Upper(i) - Lower(i)) * within;
            }
            seen += counts[i];
        }
        return Upper(counts.Length - 1);
    }
}
