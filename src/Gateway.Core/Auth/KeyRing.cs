using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Gateway.Core.Auth;

/// <summary>
/// The accepted gateway keys, by SHA-256 hash. A presented key is hashed and looked up by the
/// first 16 bytes of its hash, then confirmed over all 32 in constant time: timing can reveal at
/// most whether some stored hash shares a 128-bit prefix, which says nothing usable about a key.
/// </summary>
public sealed class KeyRing
{
    private const int MaxKeyBytes = 512;
    private readonly Dictionary<UInt128, (byte[] Hash, GatewayKey Key)> _byPrefix = [];

    public int Count => _byPrefix.Count;

    public void Add(byte[] hash, GatewayKey key)
    {
        if (hash.Length != 32) throw new ArgumentException("a SHA-256 hash has 32 bytes", nameof(hash));
        _byPrefix[Prefix(hash)] = (hash, key);
    }

    public GatewayKey? Find(ReadOnlySpan<char> presented)
    {
        Span<byte> hash = stackalloc byte[32];
        return TryHash(presented, hash) ? FindHash(hash) : null;
    }

    /// <summary>The SHA-256 of a presented key (false for one no ring could hold): hashed once, looked up in several rings.</summary>
    public static bool TryHash(ReadOnlySpan<char> presented, Span<byte> hash)
    {
        if (presented.IsEmpty || presented.Length > MaxKeyBytes) return false;
        Span<byte> utf8 = stackalloc byte[MaxKeyBytes * 3];
        int length = Encoding.UTF8.GetBytes(presented, utf8);
        SHA256.HashData(utf8[..length], hash);
        return true;
    }

    public GatewayKey? FindHash(ReadOnlySpan<byte> hash)
    {
        if (!_byPrefix.TryGetValue(Prefix(hash), out var entry)) return null;
        return CryptographicOperations.FixedTimeEquals(entry.Hash, hash) ? entry.Key : null;
    }

    private static UInt128 Prefix(ReadOnlySpan<byte> hash) => BinaryPrimitives.ReadUInt128LittleEndian(hash);
}
