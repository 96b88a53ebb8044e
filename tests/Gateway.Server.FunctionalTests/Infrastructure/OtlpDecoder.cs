using System.Buffers.Binary;
using System.Text;

namespace Gateway.Server.FunctionalTests.Infrastructure;

public sealed record OtlpExport(IReadOnlyDictionary<string, object> Resource, string ScopeName, IReadOnlyList<OtlpSpan> Spans);

public sealed record OtlpSpan(string TraceId, string SpanId, string? ParentSpanId, string? TraceState, string Name, int Kind,
    ulong Start, ulong End, uint Flags, IReadOnlyDictionary<string, object> Attributes, int StatusCode, string? StatusMessage)
{
    public object? Attribute(string key) => Attributes.GetValueOrDefault(key);
}

public sealed record OtlpPoint(IReadOnlyDictionary<string, object> Attributes, ulong Start, ulong Time, double Value, ulong Count, double Sum,
    long[] BucketCounts, double[] Bounds);

public sealed record OtlpMetric(string Name, string Unit, string Kind, int Temporality, bool Monotonic, IReadOnlyList<OtlpPoint> Points);

/// <summary>
/// Reads an OTLP <c>ExportTraceServiceRequest</c> or <c>ExportMetricsServiceRequest</c> with a protobuf wire reader of its own and the field numbers of
/// opentelemetry-proto's <c>trace.proto</c> and <c>common.proto</c>. Strict: a wire type that does not match the
/// field's declared type, a length past the end or an unknown field in a message it knows fails the test.
/// </summary>
public static class OtlpDecoder
{
    public static OtlpExport Decode(byte[] body)
    {
        var resource = new Dictionary<string, object>();
        string scope = "";
        var spans = new List<OtlpSpan>();
        foreach (var (field, resourceSpans) in Fields(body))
        {
            Assert.Equal(1, field); // ExportTraceServiceRequest.resource_spans
            foreach (var (f, value) in Fields(Bytes(resourceSpans)))
            {
                if (f == 1) // ResourceSpans.resource
                {
                    foreach (var (rf, kv) in Fields(Bytes(value))) { Assert.Equal(1, rf); var (k, v) = KeyValue(Bytes(kv)); resource[k] = v; }
                }
                else if (f == 2) // ResourceSpans.scope_spans
                {
                    foreach (var (sf, sv) in Fields(Bytes(value)))
                    {
                        if (sf == 1) scope = Fields(Bytes(sv)).Where(x => x.Field == 1).Select(x => Text(x.Value)).Single();
                        else if (sf == 2) spans.Add(Span(Bytes(sv)));
                        else Assert.Fail($"ScopeSpans field {sf}");
                    }
                }
                else Assert.Fail($"ResourceSpans field {f}");
            }
        }
        return new OtlpExport(resource, scope, spans);
    }

    /// <summary>ExportMetricsServiceRequest { resource_metrics = 1: { resource = 1, scope_metrics = 2: { scope = 1, metrics = 2 } } }.</summary>
    public static IReadOnlyList<OtlpMetric> DecodeMetrics(byte[] body)
    {
        var metrics = new List<OtlpMetric>();
        foreach (var (field, resourceMetrics) in Fields(body))
        {
            Assert.Equal(1, field);
            foreach (var (f, value) in Fields(Bytes(resourceMetrics)))
            {
                if (f == 1) continue; // the resource, read by Decode's tests
                Assert.Equal(2, f);
                foreach (var (sf, sv) in Fields(Bytes(value)))
                {
                    if (sf == 1) continue;
                    Assert.Equal(2, sf);
                    metrics.Add(Metric(Bytes(sv)));
                }
            }
        }
        return metrics;
    }

    /// <summary>Metric { name 1, description 2, unit 3, gauge 5, sum 7, histogram 9 }; Sum/Histogram { points 1, temporality 2, monotonic 3 }.</summary>
    private static OtlpMetric Metric(byte[] metric)
    {
        string name = "", unit = "", kind = "";
        int temporality = 0;
        bool monotonic = false;
        var points = new List<OtlpPoint>();
        foreach (var (field, value) in Fields(metric))
        {
            switch (field)
            {
                case 1: name = Text(value); break;
                case 2: Text(value); break;
                case 3: unit = Text(value); break;
                case 5 or 7 or 9:
                    kind = field switch { 5 => "gauge", 7 => "sum", _ => "histogram" };
                    foreach (var (df, dv) in Fields(Bytes(value)))
                    {
                        if (df == 1) points.Add(field == 9 ? HistogramPoint(Bytes(dv)) : NumberPoint(Bytes(dv)));
                        else if (df == 2 && field != 5) temporality = (int)(ulong)dv;
                        else if (df == 3 && field == 7) monotonic = (ulong)dv != 0;
                        else Assert.Fail($"{kind} field {df}");
                    }
                    break;
                default: Assert.Fail($"Metric field {field}"); break;
            }
        }
        return new OtlpMetric(name, unit, kind, temporality, monotonic, points);
    }

    /// <summary>NumberDataPoint { start 2, time 3, as_double 4 (double), as_int 6 (sfixed64), attributes 7 }.</summary>
    private static OtlpPoint NumberPoint(byte[] point)
    {
        var attributes = new Dictionary<string, object>();
        ulong start = 0, time = 0;
        double? number = null;
        foreach (var (field, value) in Fields(point))
        {
            switch (field)
            {
                case 2: start = (ulong)value; break;
                case 3: time = (ulong)value; break;
                case 4: number = BitConverter.UInt64BitsToDouble((ulong)value); break;
                case 6: number = (long)(ulong)value; break;
                case 7: var (k, v) = KeyValue(Bytes(value)); attributes.Add(k, v); break;
                default: Assert.Fail($"NumberDataPoint field {field}"); break;
            }
        }
        Assert.True(time > 0, "a point without its time");
        return new OtlpPoint(attributes, start, time, number ?? throw new InvalidOperationException("a point without a value"), 0, 0, [], []);
    }

    /// <summary>HistogramDataPoint { start 2, time 3, count 4, sum 5, bucket_counts 6 (packed fixed64), explicit_bounds 7 (packed double), attributes 9 }.</summary>
    private static OtlpPoint HistogramPoint(byte[] point)
    {
        var attributes = new Dictionary<string, object>();
        ulong start = 0, time = 0, count = 0;
        double sum = 0;
        long[] buckets = [];
        double[] bounds = [];
        foreach (var (field, value) in Fields(point))
        {
            switch (field)
            {
                case 2: start = (ulong)value; break;
                case 3: time = (ulong)value; break;
                case 4: count = (ulong)value; break;
                case 5: sum = BitConverter.UInt64BitsToDouble((ulong)value); break;
                case 6: buckets = [.. Packed(Bytes(value)).Select(b => (long)b)]; break;
                case 7: bounds = [.. Packed(Bytes(value)).Select(BitConverter.UInt64BitsToDouble)]; break;
                case 9: var (k, v) = KeyValue(Bytes(value)); attributes.Add(k, v); break;
                default: Assert.Fail($"HistogramDataPoint field {field}"); break;
            }
        }
        Assert.Equal(bounds.Length + 1, buckets.Length);
        Assert.Equal((long)count, buckets.Sum());
        Assert.True(bounds.Zip(bounds.Skip(1)).All(p => p.First < p.Second), "bounds strictly increasing");
        return new OtlpPoint(attributes, start, time, 0, count, sum, buckets, bounds);
    }

    private static IEnumerable<ulong> Packed(byte[] values)
    {
        Assert.Equal(0, values.Length % 8);
        for (int i = 0; i < values.Length; i += 8) yield return BinaryPrimitives.ReadUInt64LittleEndian(values.AsSpan(i, 8));
    }

    private static OtlpSpan Span(byte[] span)
    {
        string traceId = "", spanId = "", name = "";
        string? parent = null, state = null, statusMessage = null;
        int kind = 0, statusCode = 0;
        ulong start = 0, end = 0;
        uint flags = 0;
        var attributes = new Dictionary<string, object>();
        foreach (var (field, value) in Fields(span))
        {
            switch (field)
            {
                case 1: traceId = Convert.ToHexStringLower(Bytes(value)); Assert.Equal(32, traceId.Length); break;
                case 2: spanId = Convert.ToHexStringLower(Bytes(value)); Assert.Equal(16, spanId.Length); break;
                case 3: state = Text(value); break;
                case 4: parent = Convert.ToHexStringLower(Bytes(value)); Assert.Equal(16, parent.Length); break;
                case 5: name = Text(value); break;
                case 6: kind = (int)(ulong)value; break;
                case 7: start = (ulong)value; break;
                case 8: end = (ulong)value; break;
                case 9:
                    var (k, v) = KeyValue(Bytes(value));
                    Assert.True(attributes.TryAdd(k, v), $"attribute {k} twice");
                    break;
                case 15:
                    foreach (var (sf, sv) in Fields(Bytes(value)))
                    {
                        if (sf == 2) statusMessage = Text(sv);
                        else if (sf == 3) statusCode = (int)(ulong)sv;
                        else Assert.Fail($"Status field {sf}");
                    }
                    break;
                case 16: flags = (uint)value; break;
                default: Assert.Fail($"Span field {field}"); break;
            }
        }
        Assert.True(end >= start, "a span ends after it starts");
        return new OtlpSpan(traceId, spanId, parent, state, name, kind, start, end, flags, attributes, statusCode, statusMessage);
    }

    /// <summary>KeyValue { key = 1; AnyValue value = 2 }, AnyValue { string 1, bool 2, int64 3, double 4 }.</summary>
    private static (string Key, object Value) KeyValue(byte[] kv)
    {
        string key = "";
        object? value = null;
        foreach (var (field, v) in Fields(kv))
        {
            if (field == 1) key = Text(v);
            else if (field == 2)
                foreach (var (af, av) in Fields(Bytes(v)))
                    value = af switch
                    {
                        1 => Text(av),
                        2 => (ulong)av != 0,
                        3 => (long)(ulong)av,
                        4 => BitConverter.UInt64BitsToDouble((ulong)av),
                        _ => throw new InvalidOperationException($"AnyValue field {af}"),
                    };
            else Assert.Fail($"KeyValue field {field}");
        }
        return (key, value ?? throw new InvalidOperationException($"attribute {key} has no value"));
    }

    private static byte[] Bytes(object value) => Assert.IsType<byte[]>(value);

    private static string Text(object value) => new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Bytes(value));

    /// <summary>Each field: varint and fixed64 as ulong, fixed32 as uint, length-delimited as its bytes.</summary>
    private static IEnumerable<(int Field, object Value)> Fields(byte[] message)
    {
        int at = 0;
        while (at < message.Length)
        {
            ulong tag = Varint(message, ref at);
            int field = (int)(tag >> 3);
            Assert.True(field > 0, "field number 0");
            switch ((int)(tag & 7))
            {
                case 0: yield return (field, Varint(message, ref at)); break;
                case 1: yield return (field, BinaryPrimitives.ReadUInt64LittleEndian(message.AsSpan(at, 8))); at += 8; break;
                case 2:
                    int length = checked((int)Varint(message, ref at));
                    Assert.True(at + length <= message.Length, "a length past the end");
                    yield return (field, message[at..(at + length)]);
                    at += length;
                    break;
                case 5: yield return (field, BinaryPrimitives.ReadUInt32LittleEndian(message.AsSpan(at, 4))); at += 4; break;
                default: throw new InvalidOperationException($"wire type {tag & 7}");
            }
        }
    }

    private static ulong Varint(byte[] message, ref int at)
    {
        ulong value = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte b = message[at++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80) return value;
            Assert.True(shift < 63, "a varint longer than ten bytes");
        }
    }
}
