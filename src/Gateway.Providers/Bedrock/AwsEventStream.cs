using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace Gateway.Providers.Bedrock;

/// <summary>One decoded message of AWS's binary event stream (<c>application/vnd.amazon.eventstream</c>).</summary>
public readonly record struct AwsEvent(string? MessageType, string? EventType, string? ExceptionType, ReadOnlyMemory<byte> Payload);

/// <summary>
/// Decodes AWS event-stream framing incrementally: each message is a 12-byte prelude (total length,
/// headers length, prelude CRC32), headers, payload and a CRC32 of everything before it, all
/// big-endian. Bytes arrive in any split; a message is returned only when whole and checked.
/// </summary>
public sealed class AwsEventStreamDecoder
{
    private const int MaxMessage = 16 * 1024 * 1024;
    private byte[] _buffer = new byte[16 * 1024];
    private int _length;

    public void Append(ReadOnlySpan<byte> bytes)
    {
        if (_length + bytes.Length > _buffer.Length) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + bytes.Length));
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }

    /// <summary>The next whole message, if one has arrived. Throws <see cref="InvalidDataException"/> on a corrupt frame.</summary>
    public bool TryRead(out AwsEvent message)
    {
        message = default;
        if (_length < 12) return false;
        var data = _buffer.AsSpan(0, _length);
        int total = (int)BinaryPrimitives.ReadUInt32BigEndian(data);
        int headersLength = (int)BinaryPrimitives.ReadUInt32BigEndian(data[4..]);
        if (total < 16 || total > MaxMessage || headersLength < 0 || headersLength > total - 16)
            throw new InvalidDataException($"event stream: impossible lengths (total {total}, headers {headersLength})");
        if (Crc32.HashToUInt32(data[..8]) != BinaryPrimitives.ReadUInt32BigEndian(data[8..]))
            throw new InvalidDataException("event stream: prelude checksum mismatch");
        if (_length < total) return false;
        if (Crc32.HashToUInt32(data[..(total - 4)]) != BinaryPrimitives.ReadUInt32BigEndian(data[(total - 4)..]))
            throw new InvalidDataException("event stream: message checksum mismatch");

        string? messageType = null, eventType = null, exceptionType = null;
        var headers = data.Slice(12, headersLength);
        // The checksums guard against corruption, not against a sender that frames nonsense correctly:
        // every length inside the headers is checked against what is left of them.
        while (!headers.IsEmpty)
        {
            if (headers.Length < 2 || headers[0] + 2 > headers.Length) throw Truncated();
            int nameLength = headers[0];
            string name = Encoding.UTF8.GetString(headers.Slice(1, nameLength));
            byte type = headers[1 + nameLength];
            headers = headers[(2 + nameLength)..];
            if (type is 6 or 7 && headers.Length < 2) throw Truncated();
            int valueLength = type switch
            {
                0 or 1 => 0,                                           // bool true / false
                2 => 1, 3 => 2, 4 => 4, 5 => 8,                        // byte, short, int, long
                6 or 7 => 2 + BinaryPrimitives.ReadUInt16BigEndian(headers), // bytes, string (u16 length)
                8 => 8, 9 => 16,                                       // timestamp, uuid
                _ => throw new InvalidDataException($"event stream: unknown header type {type}"),
            };
            if (valueLength > headers.Length) throw Truncated();
            if (type == 7)
            {
                string value = Encoding.UTF8.GetString(headers.Slice(2, valueLength - 2));
                if (name == ":message-type") messageType = value;
                else if (name == ":event-type") eventType = value;
                else if (name == ":exception-type") exceptionType = value;
            }
            headers = headers[valueLength..];
        }
        var payload = data.Slice(12 + headersLength, total - 16 - headersLength).ToArray();
        message = new AwsEvent(messageType, eventType, exceptionType, payload);

        _buffer.AsSpan(total, _length - total).CopyTo(_buffer);
        _length -= total;
        return true;
    }

    /// <summary>Encodes a message (string headers only): what tests and the mock upstream need.</summary>
    private static InvalidDataException Truncated() => new("event stream: a header runs past the headers' length");

    public static byte[] Encode(IReadOnlyList<KeyValuePair<string, string>> headers, ReadOnlySpan<byte> payload)
    {
        using var headerBytes = new MemoryStream();
        Span<byte> len = stackalloc byte[2];
        foreach (var (name, value) in headers)
        {
            var n = Encoding.UTF8.GetBytes(name);
            var v = Encoding.UTF8.GetBytes(value);
            headerBytes.WriteByte((byte)n.Length);
            headerBytes.Write(n);
            headerBytes.WriteByte(7);
            BinaryPrimitives.WriteUInt16BigEndian(len, (ushort)v.Length);
            headerBytes.Write(len);
            headerBytes.Write(v);
        }
        int total = 16 + (int)headerBytes.Length + payload.Length;
        var message = new byte[total];
        BinaryPrimitives.WriteUInt32BigEndian(message, (uint)total);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(4), (uint)headerBytes.Length);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(8), Crc32.HashToUInt32(message.AsSpan(0, 8)));
        headerBytes.ToArray().CopyTo(message, 12);
        payload.CopyTo(message.AsSpan(12 + (int)headerBytes.Length));
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(total - 4), Crc32.HashToUInt32(message.AsSpan(0, total - 4)));
        return message;
    }
}
