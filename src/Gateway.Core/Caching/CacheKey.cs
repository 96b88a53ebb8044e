using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Gateway.Core.Caching;

/// <summary>
/// What identifies a cached answer: 128 bits of a SHA-256 over who may see it (a tenant, or a key with
/// none), the model as routed, the form of the entry, and the request normalised (object members in
/// ordinal order, numbers by value, fields that do not change the answer left out).
/// </summary>
public readonly record struct CacheKey(UInt128 Hash)
{
    /// <summary>The key as 16 bytes, as the database stores keep it (high half first, each half little-endian).</summary>
    public byte[] ToBytes()
    {
        var bytes = new byte[16];
        BitConverter.TryWriteBytes(bytes, (ulong)(Hash >> 64));
        BitConverter.TryWriteBytes(bytes.AsSpan(8), (ulong)Hash);
        return bytes;
    }

    /// <summary>Top-level fields that change nothing in the answer: how it is delivered, who asked, what the provider keeps.</summary>
    private static readonly string[] Ignored =
        ["model", "stream", "stream_options", "user", "metadata", "store", "service_tier", "safety_identifier", "prompt_cache_key", "prompt_cache_retention"];

    private const int MaxDepth = 256;

    /// <summary>Parses the request and makes its key (see <see cref="Of(string, string, string, JsonElement, bool)"/>).</summary>
    /// <exception cref="JsonException">The request is not JSON (it was validated before; a policy's rewrite was too).</exception>
    public static CacheKey Of(string scope, string routed, string form, ReadOnlySpan<byte> request, bool withoutLastMessage = false)
    {
        using var document = Parse(request);
        return Of(scope, routed, form, document.RootElement, withoutLastMessage);
    }

    /// <summary>The request parsed as the key reads it (a caller making several keys of one request parses it once).</summary>
    public static JsonDocument Parse(ReadOnlySpan<byte> request)
    {
        var reader = new Utf8JsonReader(request, new JsonReaderOptions { MaxDepth = MaxDepth });
        return JsonDocument.ParseValue(ref reader);
    }

    /// <param name="scope">Whose entries these are (<c>t:tenant</c>, or <c>k:key</c>).</param>
    /// <param name="routed">The model as routed: a group's name, or <c>provider/model</c>.</param>
    /// <param name="form">What kind of entry (a canonical answer, or a dialect's own JSON or stream).</param>
    /// <param name="request">The request as it is sent (after policies), a JSON object.</param>
    /// <param name="withoutLastMessage">Leave the last of <c>messages</c> out: the key of the semantic cache's bucket, whose members differ only there.</param>
    public static CacheKey Of(string scope, string routed, string form, JsonElement request, bool withoutLastMessage = false)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        WriteHeader(buffer, scope);
        WriteHeader(buffer, routed);
        WriteHeader(buffer, form);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true, MaxDepth = MaxDepth }))
            WriteNormalised(writer, request, top: true, withoutLastMessage);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(buffer.WrittenSpan, hash);
        return new CacheKey(new UInt128(BitConverter.ToUInt64(hash), BitConverter.ToUInt64(hash[8..])));
    }

    // Length-prefixed, so no two (scope, routed, form) triples run together into the same bytes.
    private static void WriteHeader(ArrayBufferWriter<byte> buffer, string part)
    {
        int length = Encoding.UTF8.GetByteCount(part);
        BitConverter.TryWriteBytes(buffer.GetSpan(4), length);
        buffer.Advance(4);
        buffer.Advance(Encoding.UTF8.GetBytes(part, buffer.GetSpan(length)));
    }

    private static void WriteNormalised(Utf8JsonWriter writer, JsonElement value, bool top, bool withoutLastMessage = false)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                var members = new List<JsonProperty>();
                foreach (var member in value.EnumerateObject())
                    if (!top || Array.IndexOf(Ignored, member.Name) < 0) members.Add(member);
                members.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
                writer.WriteStartObject();
                foreach (var member in members)
                {
                    writer.WritePropertyName(member.Name);
                    if (withoutLastMessage && member.Name == "messages" && member.Value.ValueKind == JsonValueKind.Array)
                    {
                        writer.WriteStartArray();
                        int left = member.Value.GetArrayLength() - 1;
                        foreach (var message in member.Value.EnumerateArray())
                            if (left-- > 0) WriteNormalised(writer, message, top: false);
                        writer.WriteEndArray();
                    }
                    else WriteNormalised(writer, member.Value, top: false);
                }
                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in value.EnumerateArray()) WriteNormalised(writer, item, top: false);
                writer.WriteEndArray();
                break;
            case JsonValueKind.Number:
                // 1, 1.0 and 1e0 are one value.
                if (value.TryGetDouble(out double number) && double.IsFinite(number)) writer.WriteNumberValue(number);
                else writer.WriteRawValue(value.GetRawText(), skipInputValidation: true);
                break;
            default:
                value.WriteTo(writer);
                break;
        }
    }
}
