using System.Buffers.Binary;
using System.Text;

namespace Gateway.Server.FunctionalTests.Infrastructure;

public sealed record OtlpExport(IReadOnlyDictionary<string, object> Resource, string ScopeName, IReadOnlyList<OtlpSpan> Spans);

public sealed record OtlpSpan(string TraceId, string SpanId, string? ParentSpanId, string? TraceState, string Name, int Kind,
    ulong Start, ulong End, uint Flags, IReadOnlyDictionary<string, object> Attributes, int StatusCode, string? StatusMessage)
{
    public object? Attribute(string key) => Attributes.GetValueOrDefault(key);
}

/// <summary>
/// Reads an OTLP <c>ExportTraceServiceRequest</c> with a protobuf wire reader of its own and the field numbers of
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
