using System.Security.Cryptography;
using System.Text;

namespace Gateway.Core.Governance;

/// <summary>
/// Seals provider credentials for the store with AES-256-GCM under the key in <c>GATEWAY_SECRET_KEY</c>
/// (base64 of 32 random bytes). Each secret has its own random nonce; the provider's name is bound in
/// as associated data, so a sealed secret copied onto another provider's row does not open.
/// </summary>
public sealed class SecretBox
{
    public const string Variable = "GATEWAY_SECRET_KEY";
    private const int NonceBytes = 12, TagBytes = 16;
    private readonly byte[] _key;

    private SecretBox(byte[] key) => _key = key;

    /// <summary>The box for the key in <paramref name="base64"/>; null with the reason when it is not 32 bytes of base64 (the value is never repeated).</summary>
    public static SecretBox? FromBase64(string? base64, out string? problem)
    {
        problem = null;
        if (string.IsNullOrWhiteSpace(base64))
        {
            problem = $"{Variable} is not set";
            return null;
        }
        byte[] key;
        try
        {
            key = Convert.FromBase64String(base64.Trim());
        }
        catch (FormatException)
        {
            problem = $"{Variable} is not base64 (make one with: openssl rand -base64 32)";
            return null;
        }
        if (key.Length != 32)
        {
            problem = $"{Variable} decodes to {key.Length} bytes, not 32 (make one with: openssl rand -base64 32)";
            return null;
        }
        return new SecretBox(key);
    }

    public SealedSecret Seal(string plaintext, string boundTo)
    {
        byte[] nonce = RandomNumberGenerator.GetBytes(NonceBytes);
        byte[] clear = Encoding.UTF8.GetBytes(plaintext);
        byte[] sealedBytes = new byte[clear.Length + TagBytes];
        using var aes = new AesGcm(_key, TagBytes);
        aes.Encrypt(nonce, clear, sealedBytes.AsSpan(0, clear.Length), sealedBytes.AsSpan(clear.Length), Encoding.UTF8.GetBytes(boundTo));
        CryptographicOperations.ZeroMemory(clear);
        return new SealedSecret(nonce, sealedBytes);
    }

    /// <exception cref="CryptographicException">Sealed under another key, bound to another name, or altered.</exception>
    public string Open(SealedSecret secret, string boundTo)
    {
        if (secret.Nonce.Length != NonceBytes || secret.Ciphertext.Length < TagBytes) throw new CryptographicException("the sealed secret is malformed");
        int length = secret.Ciphertext.Length - TagBytes;
        byte[] clear = new byte[length];
        using var aes = new AesGcm(_key, TagBytes);
        aes.Decrypt(secret.Nonce, secret.Ciphertext.AsSpan(0, length), secret.Ciphertext.AsSpan(length), clear, Encoding.UTF8.GetBytes(boundTo));
        string text = Encoding.UTF8.GetString(clear);
        CryptographicOperations.ZeroMemory(clear);
        return text;
    }
}
