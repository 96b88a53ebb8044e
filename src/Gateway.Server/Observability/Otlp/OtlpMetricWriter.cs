namespace Gateway.Server.Observability.Otlp;

/// <summary>
/// OTLP metrics as <c>ScopeMetrics.metrics</c> fields: <c>Metric { name = 1, description = 2, unit = 3, gauge = 5 | sum = 7 |
/// histogram = 9 }</c>, cumulative since the gateway started. A metric is opened, given its points, then closed.
/// Attributes come as pairs (<c>["route", route, "model", model]</c>), the form the Prometheus writer takes.
/// </summary>
internal static class OtlpMetricWriter
{
    public enum Kind { Gauge = 5, Sum = 7, Histogram = 9 }

    public static void Begin(ref ProtoWriter w, string name, string description, string unit, Kind kind, out (int Metric, int Data) marks)
    {
        w.Message(2, out int metric);
        w.StringField(1, name);
        w.StringField(2, description);
        w.StringField(3, unit);
        w.Message((int)kind, out int data);
        marks = (metric, data);
    }

    /// <summary>Closes the metric: sums and histograms are cumulative (2); a counter's sum is monotonic.</summary>
    public static void End(ref ProtoWriter w, Kind kind, (int Metric, int Data) marks)
    {
        if (kind != Kind.Gauge) w.VarintField(2, 2);
        if (kind == Kind.Sum) w.VarintField(3, 1);
        w.EndLength(marks.Data);
        w.EndLength(marks.Metric);
    }

    /// <summary>NumberDataPoint { start = 2, time = 3, as_double = 4, as_int = 6 (sfixed64), attributes = 7 }.</summary>
    public static void Point(ref ProtoWriter w, scoped ReadOnlySpan<string> attributes, ulong start, ulong now, long value)
    {
        w.Message(1, out int point);
        if (start != 0) w.Fixed64Field(2, start);
        w.Fixed64Field(3, now);
        w.Fixed64Field(6, (ulong)value);
        Attributes(ref w, 7, attributes);
        w.EndLength(point);
    }

    public static void Point(ref ProtoWriter w, scoped ReadOnlySpan<string> attributes, ulong start, ulong now, double value)
    {
        w.Message(1, out int point);
        if (start != 0) w.Fixed64Field(2, start);
        w.Fixed64Field(3, now);
        w.DoubleField(4, value);
        Attributes(ref w, 7, attributes);
        w.EndLength(point);
    }

    /// <summary>HistogramDataPoint { start = 2, time = 3, count = 4, sum = 5, bucket_counts = 6, explicit_bounds = 7, attributes = 9 }.</summary>
    /// <param name="status">An HTTP status, written as the integer attribute <c>http.response.status_code</c> (none when negative).</param>
    public static void Point(ref ProtoWriter w, scoped ReadOnlySpan<string> attributes, ulong start, ulong now, Histogram histogram, int status = -1)
    {
        Span<long> counts = stackalloc long[histogram.Buckets];
        double sum = histogram.Read(counts);
        long count = 0;
        foreach (long c in counts) count += c;
        w.Message(1, out int point);
        w.Fixed64Field(2, start);
        w.Fixed64Field(3, now);
        w.Fixed64Field(4, (ulong)count);
        w.DoubleField(5, sum);
        w.PackedFixed64(6, counts);
        w.PackedDouble(7, histogram.Bounds);
        Attributes(ref w, 9, attributes);
        if (status >= 0) w.Attribute(9, "http.response.status_code"u8, status);
        w.EndLength(point);
    }

    private static void Attributes(ref ProtoWriter w, int field, scoped ReadOnlySpan<string> pairs)
    {
        Span<byte> key = stackalloc byte[64];
        for (int i = 0; i + 1 < pairs.Length; i += 2)
        {
            int length = System.Text.Encoding.UTF8.GetBytes(pairs[i], key);
            w.Attribute(field, key[..length], pairs[i + 1]);
        }
    }
}
