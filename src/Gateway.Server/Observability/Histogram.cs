namespace Gateway.Server.Observability;

/// <summary>
/// A Prometheus histogram's cells for one series: a count per bucket (not cumulative) and the sum.
/// Recording is two interlocked operations and allocates nothing; an export reads the buckets once
/// and derives the cumulative counts and the total from them, so <c>_count</c> always equals the
/// <c>+Inf</c> bucket even while requests are being recorded.
/// </summary>
internal sealed class Histogram(double[] bounds)
{
    private readonly long[] _counts = new long[bounds.Length + 1];
    private long _sumBits; // a double's bits, updated by compare-and-swap

    public double[] Bounds => bounds;

    public void Record(double value)
    {
        int i = Array.BinarySearch(bounds, value);
        if (i < 0) i = ~i; // the first bound >= value; bounds.Length is the +Inf bucket
        Interlocked.Increment(ref _counts[i]);
        long seen = Volatile.Read(ref _sumBits);
        while (true)
        {
            long next = BitConverter.DoubleToInt64Bits(BitConverter.Int64BitsToDouble(seen) + value);
            long actual = Interlocked.CompareExchange(ref _sumBits, next, seen);
            if (actual == seen) return;
            seen = actual;
        }
    }

    /// <summary>Copies the per-bucket counts (the last one is +Inf) and returns the sum.</summary>
    public double Read(Span<long> counts)
    {
        for (int i = 0; i < _counts.Length; i++) counts[i] = Volatile.Read(ref _counts[i]);
        return BitConverter.Int64BitsToDouble(Volatile.Read(ref _sumBits));
    }

    public int Buckets => _counts.Length;
}

/// <summary>Bucket bounds that resolve what each histogram measures.</summary>
internal static class Buckets
{
    /// <summary>Whole requests: sub-millisecond answers (a cache, a policy) up to ten-minute generations.</summary>
    public static readonly double[] Duration = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600];

    /// <summary>The gateway's own share: tens of microseconds to a policy's or a queue's hundreds of milliseconds.</summary>
    public static readonly double[] Overhead = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

    /// <summary>Time to first token (OpenTelemetry's GenAI advice, extended down to 1 ms).</summary>
    public static readonly double[] FirstToken = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60];

    /// <summary>Tokens per request (OpenTelemetry's GenAI advice: powers of four).</summary>
    public static readonly double[] Tokens = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
}
