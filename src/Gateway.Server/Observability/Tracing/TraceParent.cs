using System.Buffers.Binary;

namespace Gateway.Server.Observability.Tracing;

/// <summary>
/// A W3C trace context (<c>traceparent</c>: version, trace id, parent span id, flags), parsed from a client's
/// header and written for a provider's. Ids are numbers here, not hex strings: nothing is allocated to hold them.
/// </summary>
internal readonly record struct TraceParent(UInt128 TraceId, ulong SpanId, byte Flags)
{
    public const int Length = 55;
    public const byte Sampled = 1;

    public bool IsSampled => (Flags & Sampled) != 0;

    /// <summary>
    /// Parses <c>00-{32 hex}-{16 hex}-{2 hex}</c>; false for anything else, an all-zero id or version <c>ff</c>
    /// (the specification's rule: an invalid traceparent is ignored and a new trace starts). A later
    /// version is read by its first 55 characters, as the specification asks.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> value, out TraceParent parent)
    {
        parent = default;
        if (value.Length < Length || (value.Length > Length && (value[..2] is "00" || value[Length] != '-'))) return false;
        if (value[2] != '-' || value[35] != '-' || value[52] != '-') return false;
        if (!TryHex(value[..2], out ulong version) || version == 0xff) return false;
        if (!TryHex(value.Slice(3, 16), out ulong high) || !TryHex(value.Slice(19, 16), out ulong low)) return false;
        if (!TryHex(value.Slice(36, 16), out ulong span) || !TryHex(value.Slice(53, 2), out ulong flags)) return false;
        var trace = new UInt128(high, low);
        if (trace == UInt128.Zero || span == 0) return false;
        parent = new TraceParent(trace, span, (byte)flags);
        return true;
    }

    /// <summary>Lower-case hex only (the specification's form); upper case is invalid.</summary>
    private static bool TryHex(ReadOnlySpan<char> digits, out ulong value)
    {
        value = 0;
        foreach (char c in digits)
        {
            int d = c is >= '0' and <= '9' ? c - '0' : c is >= 'a' and <= 'f' ? c - 'a' + 10 : -1;
            if (d < 0) return false;
            value = (value << 4) | (uint)d;
        }
        return true;
    }

    /// <summary>The header's value: <c>00-{trace}-{span}-{flags}</c> (vectorized hex: number formatting with <c>x16</c> took its slow path).</summary>
    public override string ToString() => string.Create(Length, this, static (chars, p) =>
    {
        Span<byte> bytes = stackalloc byte[25];
        WriteTraceId(p.TraceId, bytes);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[16..], p.SpanId);
        bytes[24] = p.Flags;
        "00-".CopyTo(chars);
        Convert.TryToHexStringLower(bytes[..16], chars[3..35], out _);
        chars[35] = '-';
        Convert.TryToHexStringLower(bytes[16..24], chars[36..52], out _);
        chars[52] = '-';
        Convert.TryToHexStringLower(bytes[24..], chars[53..], out _);
    });

    /// <summary>The trace id's 16 bytes in the order its hex shows them (OTLP's and W3C's).</summary>
    public static void WriteTraceId(UInt128 traceId, Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, (ulong)(traceId >> 64));
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], (ulong)traceId);
    }
}
