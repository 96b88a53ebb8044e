using System.Security.Cryptography;
using System.Text;

namespace Gateway.Core.Config;

/// <summary>Gateway keys are stored only as SHA-256 hashes, written <c>sha256:&lt;hex&gt;</c>.</summary>
public static class KeyHashing
{
    public const string Prefix = "sha256:";

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    public static string Format(byte[] hash) => Prefix + Convert.ToHexStringLower(hash);

    public static bool TryParse(string text, out byte[] hash)
    {
        hash = [];
        if (!text.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) || text.Length != Prefix.Length + 64) return false;
        try
        {
            hash = Convert.FromHexString(text.AsSpan(Prefix.Length));
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>A new random key: 32 bytes of entropy, URL-safe, recognisable by its prefix.</summary>
    public static string NewKey(string prefix = "gw-") =>
        prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
