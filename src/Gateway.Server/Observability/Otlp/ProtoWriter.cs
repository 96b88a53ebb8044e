using System.Buffers.Binary;
using System.Text.Unicode;

namespace Gateway.Server.Observability.Otlp;

/// <summary>
/// Protocol Buffers wire format into a span of bytes, for the few OTLP messages the gateway writes. A nested
/// message reserves one length byte and moves its content on in the rare case it is 128 bytes or longer, so a
/// message is written in one pass. The caller sizes the buffer: strings are cut at <see cref="MaxString"/> bytes.
/// </summary>
internal ref struct ProtoWriter(Span<byte> buffer)
{
    /// <summary>The longest string value written (OTLP's attribute value length limit, in UTF-8 bytes).</summary>
    public const int MaxString = 512;

    private readonly Span<byte> _buffer = buffer;
    private int _position;

    public readonly int Length => _position;
    public readonly ReadOnlySpan<byte> Written => _buffer[.._position];

    private const int Varint = 0, Fixed64 = 1, Len = 2, Fixed32 = 5;

    public void Tag(int field, int wireType) => WriteVarint((uint)((field << 3) | wireType));

    public void WriteVarint(ulong value)
    {
        while (value >= 0x80)
        {
            _buffer[_position++] = (byte)(value | 0x80);
            value >>= 7;
        }
        _buffer[_position++] = (byte)value;
    }

    public void VarintField(int field, ulong value)
    {
        Tag(field, Varint);
        WriteVarint(value);
    }

    public void Fixed64Field(int field, ulong value)
    {
        Tag(field, Fixed64);
        BinaryPrimitives.WriteUInt64LittleEndian(_buffer[_position..], value);
        _position += 8;
    }

    public void DoubleField(int field, double value) => Fixed64Field(field, BitConverter.DoubleToUInt64Bits(value));

    public void Fixed32Field(int field, uint value)
    {
        Tag(field, Fixed32);
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer[_position..], value);
        _position += 4;
    }

    public void BytesField(int field, scoped ReadOnlySpan<byte> value)
    {
        Tag(field, Len);
        WriteVarint((uint)value.Length);
        value.CopyTo(_buffer[_position..]);
        _position += value.Length;
    }

    /// <summary>A string field, cut at <see cref="MaxString"/> bytes on a character's edge; an unpaired surrogate becomes U+FFFD.</summary>
    public void StringField(int field, scoped ReadOnlySpan<char> value)
    {
        Tag(field, Len);
        int mark = BeginLength();
        Append(value);
        EndLength(mark);
    }

    /// <summary>Appends UTF-8 text inside an open length (part of a string being built: a span's name).</summary>
    public void Append(scoped ReadOnlySpan<char> value)
    {
        var room = _buffer.Slice(_position, Math.Min(MaxString, _buffer.Length - _position));
        Utf8.FromUtf16(value, room, out _, out int written, replaceInvalidSequences: true, isFinalBlock: true);
        _position += written;
    }

    /// <summary>Appends bytes already encoded: UTF-8 text inside an open string, or whole fields.</summary>
    public void AppendBytes(scoped ReadOnlySpan<byte> value)
    {
        value.CopyTo(_buffer[_position..]);
        _position += value.Length;
    }

    /// <summary>Opens a length-delimited field whose tag is already written: returns the mark <see cref="EndLength"/> takes.</summary>
    public int BeginLength() => _position++;

    public void EndLength(int mark)
    {
        int length = _position - mark - 1;
        if (length < 0x80)
        {
            _buffer[mark] = (byte)length;
            return;
        }
        int extra = VarintSize((uint)length) - 1;
        _buffer.Slice(mark + 1, length).CopyTo(_buffer[(mark + 1 + extra)..]);
        int end = _position + extra;
        _position = mark;
        WriteVarint((uint)length);
        _position = end;
    }

    /// <summary>A packed repeated <c>fixed64</c> field (histogram bucket counts).</summary>
    public void PackedFixed64(int field, scoped ReadOnlySpan<long> values)
    {
        LengthPrefix(field, values.Length * 8);
        foreach (long value in values)
        {
            BinaryPrimitives.WriteInt64LittleEndian(_buffer[_position..], value);
            _position += 8;
        }
    }

    /// <summary>A packed repeated <c>double</c> field (histogram bounds).</summary>
    public void PackedDouble(int field, scoped ReadOnlySpan<double> values)
    {
        LengthPrefix(field, values.Length * 8);
        foreach (double value in values)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(_buffer[_position..], value);
            _position += 8;
        }
    }

    /// <summary>A length-delimited field's tag and a length known beforehand (its content is written after).</summary>
    public void LengthPrefix(int field, int length)
    {
        Tag(field, Len);
        WriteVarint((uint)length);
    }

    public void Message(int field, out int mark)
    {
        Tag(field, Len);
        mark = BeginLength();
    }

    public static int VarintSize(ulong value)
    {
        int size = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            size++;
        }
        return size;
    }

    // --- OTLP's common messages: KeyValue { key = 1; AnyValue value = 2 }, AnyValue { string 1, bool 2, int 3, double 4 }.

    public void Attribute(int field, scoped ReadOnlySpan<byte> key, scoped ReadOnlySpan<char> value)
    {
        BeginAttribute(field, key, out int kv, out int any);
        StringField(1, value);
        EndAttribute(kv, any);
    }

    public void Attribute(int field, scoped ReadOnlySpan<byte> key, long value)
    {
        BeginAttribute(field, key, out int kv, out int any);
        VarintField(3, (ulong)value);
        EndAttribute(kv, any);
    }

    public void Attribute(int field, scoped ReadOnlySpan<byte> key, double value)
    {
        BeginAttribute(field, key, out int kv, out int any);
        DoubleField(4, value);
        EndAttribute(kv, any);
    }

    /// <summary>Opens a KeyValue and its AnyValue: the value's own field goes between this and <see cref="EndAttribute"/>.</summary>
    public void BeginAttribute(int field, scoped ReadOnlySpan<byte> key, out int kv, out int any)
    {
        Message(field, out kv);
        BytesField(1, key);
        Message(2, out any);
    }

    public void EndAttribute(int kv, int any)
    {
        EndLength(any);
        EndLength(kv);
    }
}
