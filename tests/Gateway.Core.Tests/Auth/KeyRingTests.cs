using Gateway.Core.Auth;
using Gateway.Core.Config;

namespace Gateway.Core.Tests.Auth;

public class KeyRingTests
{
    [Fact]
    public void Find_KnownKey_ReturnsItsEntry()
    {
        var ring = new KeyRing();
        ring.Add(KeyHashing.Hash("secret-1"), new GatewayKey("a", false, []));
        ring.Add(KeyHashing.Hash("secret-2"), new GatewayKey("b", true, []));
        Assert.Equal("a", ring.Find("secret-1")?.Id);
        Assert.Equal("b", ring.Find("secret-2")?.Id);
    }

    [Theory]
    [InlineData("")]
    [InlineData("secret-")]
    [InlineData("secret-11")]
    [InlineData("SECRET-1")]
    public void Find_UnknownKey_ReturnsNull(string presented)
    {
        var ring = new KeyRing();
        ring.Add(KeyHashing.Hash("secret-1"), new GatewayKey("a", false, []));
        Assert.Null(ring.Find(presented));
    }

    [Fact]
    public void Find_OverlongKey_ReturnsNullWithoutThrowing()
    {
        var ring = new KeyRing();
        Assert.Null(ring.Find(new string('x', 100_000)));
    }

    [Theory]
    [InlineData("gpt-*", "gpt-4o", true)]
    [InlineData("gpt-*", "openai/gpt-4o", false)]
    [InlineData("openai/*", "openai/gpt-4o", true)]
    [InlineData("*", "anything/at-all", true)]
    [InlineData("fast", "fast", true)]
    [InlineData("fast", "faster", false)]
    [InlineData("*-mini", "openai/gpt-4o-mini", true)]
    public void Glob_Patterns_MatchAsDocumented(string pattern, string text, bool expected)
    {
        Assert.Equal(expected, Glob.IsMatch(pattern, text));
    }

    [Fact]
    public void KeyHashing_FormatThenParse_RoundTrips()
    {
        var hash = KeyHashing.Hash("k");
        Assert.True(KeyHashing.TryParse(KeyHashing.Format(hash), out var parsed));
        Assert.Equal(hash, parsed);
        Assert.False(KeyHashing.TryParse("sha256:xyz", out _));
        Assert.False(KeyHashing.TryParse("md5:" + new string('0', 64), out _));
    }
}
