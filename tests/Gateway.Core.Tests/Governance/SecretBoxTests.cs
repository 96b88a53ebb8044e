using System.Security.Cryptography;
using System.Text;
using Gateway.Core.Governance;

namespace Gateway.Core.Tests.Governance;

public class SecretBoxTests
{
    private static SecretBox Box(out string key)
    {
        key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        return SecretBox.FromBase64(key, out _)!;
    }

    [Fact]
    public void Sealed_OpensWithTheSameKeyAndName_AndHoldsNoPlaintext()
    {
        var box = Box(out _);
        var sealedSecret = box.Seal("{\"apiKey\":\"sk-very-secret\"}", "stored1");
        Assert.DoesNotContain("sk-very-secret", Encoding.UTF8.GetString(sealedSecret.Ciphertext), StringComparison.Ordinal);
        Assert.Equal("{\"apiKey\":\"sk-very-secret\"}", box.Open(sealedSecret, "stored1"));
        // A fresh nonce every time: the same secret never seals to the same bytes.
        Assert.NotEqual(sealedSecret.Ciphertext, box.Seal("{\"apiKey\":\"sk-very-secret\"}", "stored1").Ciphertext);
    }

    [Fact]
    public void AnotherKey_AnotherName_OrAlteredBytes_DoNotOpen()
    {
        var box = Box(out _);
        var sealedSecret = box.Seal("secret", "a");
        Assert.ThrowsAny<CryptographicException>(() => Box(out _).Open(sealedSecret, "a"));
        Assert.ThrowsAny<CryptographicException>(() => box.Open(sealedSecret, "b"));
        var altered = sealedSecret.Ciphertext.ToArray();
        altered[0] ^= 1;
        Assert.ThrowsAny<CryptographicException>(() => box.Open(sealedSecret with { Ciphertext = altered }, "a"));
    }

    [Theory]
    [InlineData(null, "is not set")]
    [InlineData("not base64!", "is not base64")]
    [InlineData("AAAA", "decodes to 3 bytes, not 32")]
    public void ABadKey_IsRefusedWithWhy_WithoutRepeatingIt(string? value, string expected)
    {
        Assert.Null(SecretBox.FromBase64(value, out var problem));
        Assert.Contains(expected, problem, StringComparison.Ordinal);
        if (value is { Length: > 0 }) Assert.DoesNotContain(value, problem, StringComparison.Ordinal);
    }
}
