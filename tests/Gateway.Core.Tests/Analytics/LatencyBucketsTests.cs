using Gateway.Core.Analytics;

namespace Gateway.Core.Tests.Analytics;

public sealed class LatencyBucketsTests
{
    [Theory]
    [InlineData(0.0, 0)]
    [InlineData(-5.0, 0)]
    [InlineData(double.NaN, 0)]
    [InlineData(0.1, 0)]
    [InlineData(0.11, 1)]
    [InlineData(0.2, 4)]
    [InlineData(1.0, 14)] // 0.1 × 2^(14/4) = 1.131 ≥ 1 > 0.951
    [InlineData(1e12, LatencyBuckets.Count - 1)]
    public void Of_PutsADurationInTheBucketWhoseBoundsHoldIt(double ms, int bucket) => Assert.Equal(bucket, LatencyBuckets.Of(ms));

    [Fact]
    public void EveryDuration_LiesWithinItsBucket()
    {
        var random = new Random(7);
        for (int n = 0; n < 10_000; n++)
        {
            double ms = Math.Exp(random.NextDouble() * 20) * 0.05;
            int i = LatencyBuckets.Of(ms);
            if (i == LatencyBuckets.Count - 1) continue;
            Assert.InRange(ms, LatencyBuckets.Lower(i), LatencyBuckets.Upper(i));
            Assert.True(i == 0 || ms > LatencyBuckets.Lower(i), $"{ms} at the lower edge of bucket {i}");
        }
    }

    [Fact]
    public void Quantiles_OfManyDurations_AreWithinABucketOfTheExactOnes()
    {
        var random = new Random(11);
        var durations = Enumerable.Range(0, 50_000).Select(_ => 20 + random.NextDouble() * random.NextDouble() * 3000).Order().ToArray();
        var counts = new long[LatencyBuckets.Count];
        foreach (double d in durations) counts[LatencyBuckets.Of(d)]++;
        foreach (double q in new[] { 0.5, 0.95, 0.99 })
        {
            double exact = durations[(int)(q * durations.Length) - 1];
            double estimate = LatencyBuckets.Quantile(counts, q)!.Value;
            Assert.InRange(estimate / exact, 1 / 1.19, 1.19);
        }
    }

    [Fact]
    public void Quantile_OfOneRequest_IsInItsBucket_AndOfNothingIsNull()
    {
        var counts = new long[LatencyBuckets.Count];
        Assert.Null(LatencyBuckets.Quantile(counts, 0.5));
        counts[LatencyBuckets.Of(250)] = 1;
        double p99 = LatencyBuckets.Quantile(counts, 0.99)!.Value;
        Assert.InRange(p99, 250 / 1.19, 250 * 1.19);
    }
}
