using System.Buffers;
using System.Text;
using Gateway.Server.Observability;

namespace Gateway.Server.FunctionalTests.Observability;

public class PrometheusWriterTests
{
    private static string Write(Action<PrometheusWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(new PrometheusWriter(buffer));
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    [Fact]
    public void LabelValues_AreEscaped_AndNumbersWrittenAsPrometheusReadsThem()
    {
        string text = Write(w => w.Sample("m", ["model", "a\"b\\c\nd é"], 0.25));
        Assert.Equal("m{model=\"a\\\"b\\\\c\\nd é\"} 0.25\n", text);
        Assert.Equal("m 3\n", Write(w => w.Sample("m", [], 3)));
        Assert.Equal("m_bucket{le=\"+Inf\"} 7\n", Write(w => w.Sample("m", [], 7, "_bucket", "+Inf")));
        Assert.Equal("m +Inf\nm NaN\n", Write(w => { w.Sample("m", [], double.PositiveInfinity); w.Sample("m", [], double.NaN); }));
    }

    [Fact]
    public void AHistogram_CountsEachValueInItsBucket_AndSums()
    {
        var h = new Histogram([0.1, 1]);
        foreach (var v in new[] { 0.05, 0.1, 0.5, 2, 3 }) h.Record(v);
        Span<long> counts = stackalloc long[h.Buckets];
        double sum = h.Read(counts);
        Assert.Equal([2L, 1L, 2L], counts.ToArray()); // <= 0.1, <= 1, +Inf
        Assert.Equal(5.65, sum, 9);
    }
}
