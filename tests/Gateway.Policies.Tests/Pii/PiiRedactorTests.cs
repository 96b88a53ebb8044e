using Gateway.Policies.Pii;

namespace Gateway.Policies.Tests.Pii;

public class PiiRedactorTests
{
    [Theory]
    [InlineData("write to bob.smith+ai@example.co.uk today", "write to [EMAIL] today")]
    [InlineData("card 4111 1111 1111 1111 exp 12/29", "card [CARD] exp 12/29")]
    [InlineData("card 4111-1111-1111-1112 fails Luhn", "card 4111-1111-1111-1112 fails Luhn")]
    [InlineData("IBAN DE89 3704 0044 0532 0130 00 ok", "IBAN [IBAN] ok")]
    [InlineData("IBAN DE89370400440532013001 bad check digits", "IBAN DE89370400440532013001 bad check digits")]
    [InlineData("ssn 123-45-6789.", "ssn [SSN].")]
    [InlineData("ssn 000-45-6789 is not valid", "ssn 000-45-6789 is not valid")]
    [InlineData("from 192.168.10.4 and 2001:db8::8a2e:370:7334", "from [IP] and [IP]")]
    [InlineData("version 1.2.3.4.5 stays", "version 1.2.3.4.5 stays")]
    [InlineData("call +1 (415) 555-2671 or 030 1234 5678", "call [PHONE] or [PHONE]")]
    [InlineData("order 2024-01-15 ref 12-34", "order 2024-01-15 ref 12-34")]
    [InlineData("key sk-proj-abcdefghijklmnopqrstuvwxyz0123 and AKIAIOSFODNN7EXAMPLE", "key [SECRET] and [SECRET]")]
    [InlineData("token ghp_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ end", "token [SECRET] end")]
    public void Mask_FindsEachKindAndLeavesLookalikes(string text, string expected) =>
        Assert.Equal(expected, PiiRedactor.Redact(text));

    [Fact]
    public void Hash_SameValueSameTag_DifferentValueDifferentTag()
    {
        string redacted = PiiRedactor.Redact("a@x.io, a@x.io, b@x.io", PiiMode.Hash, PiiKinds.Email);
        var tags = redacted.Split(", ");
        Assert.Equal(tags[0], tags[1]);
        Assert.NotEqual(tags[0], tags[2]);
        Assert.StartsWith("[EMAIL:", tags[0], StringComparison.Ordinal);
        Assert.DoesNotContain("x.io", redacted, StringComparison.Ordinal);
    }

    [Fact]
    public void Placeholder_RestoresTheUsersOwnData()
    {
        var vault = new PiiVault();
        string redacted = PiiRedactor.Redact("mail ann@a.org and bob@b.org, again ann@a.org", PiiMode.Placeholder, vault: vault);
        Assert.Equal("mail [EMAIL_1] and [EMAIL_2], again [EMAIL_1]", redacted);
        Assert.Equal("Sure, I will write to ann@a.org ([EMAIL_3] is unknown).", vault.Restore("Sure, I will write to [EMAIL_1] ([EMAIL_3] is unknown)."));
    }

    [Fact]
    public void OnlyTheKindsAsked_AreRedacted()
    {
        Assert.Equal("a@b.io [SSN]",
            PiiRedactor.Redact("a@b.io 123-45-6789", kinds: PiiKinds.UsSsn));
    }

    [Theory]
    [InlineData("see [EMA", 4)]
    [InlineData("see [EMAIL_1", 8)]
    [InlineData("see [EMAIL_1] done", 0)]
    [InlineData("array[0", 0)]
    public void PendingTail_HoldsBackOnlyAPossiblePlaceholderStart(string text, int tail)
    {
        var vault = new PiiVault();
        vault.Placeholder("EMAIL", "ann@a.org");
        Assert.Equal(tail, vault.PendingTail(text));
    }

    [Fact]
    public void CatastrophicInput_DoesNotHang()
    {
        string text = string.Concat(Enumerable.Repeat("a.", 20000)) + "@";
        var started = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            PiiRedactor.Redact(text);
        }
        catch (System.Text.RegularExpressions.RegexMatchTimeoutException)
        {
            // a timeout is an acceptable, bounded outcome
        }
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(5), $"took {started.Elapsed}");
    }
}
