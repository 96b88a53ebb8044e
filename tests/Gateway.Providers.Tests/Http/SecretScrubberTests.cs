using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Gateway.Core.Errors;
using Gateway.Providers.Anthropic;
using Gateway.Providers.Bedrock;
using Gateway.Providers.Gemini;
using Gateway.Providers.Http;
using Gateway.Providers.OpenAI;

namespace Gateway.Providers.Tests.Http;

/// <summary>No provider credential leaves the gateway in an echoed error, in any encoding JSON allows, through any provider's error mapper.</summary>
public class SecretScrubberTests
{
    private const string Key = "sk-live/Abc+123==xyz";

    private static string Escaped(string s, Func<char, int, bool> which)
    {
        var b = new StringBuilder();
        for (int i = 0; i < s.Length; i++) b.Append(which(s[i], i) ? $"\\u{(int)s[i]:x4}" : s[i] == '/' ? "/" : s[i].ToString());
        return b.ToString();
    }

    /// <summary>The key as an error body's JSON string could carry it.</summary>
    public static TheoryData<string, string> Forms => new()
    {
        { "raw", Key },
        { "every char \\u-escaped", Escaped(Key, (_, _) => true) },
        { "upper-case hex", string.Concat(Key.Select(c => $"\\u{(int)c:X4}")) },
        { "one char escaped", Escaped(Key, (_, i) => i == 3) },
        { "slashes escaped", Key.Replace("/", "\\/", StringComparison.Ordinal) },
        { "plus and equals escaped", Key.Replace("+", "\\u002b", StringComparison.Ordinal).Replace("=", "\\u003d", StringComparison.Ordinal) },
    };

    private static void AssertClean(string? text, string form)
    {
        if (text is null) return;
        Assert.DoesNotContain(Key, text, StringComparison.Ordinal);
        // Nor may any reader decode it back: every JSON string inside, and the text read as escapes.
        string decoded = Regex.Unescape(text.Replace("\\/", "/", StringComparison.Ordinal));
        Assert.False(decoded.Contains(Key, StringComparison.Ordinal), $"{form}: {text}");
    }

    private static void AssertClean(GatewayError error, string form)
    {
        AssertClean(error.Message, form);
        if (!error.RawBody.IsEmpty)
        {
            string raw = Encoding.UTF8.GetString(error.RawBody.Span);
            AssertClean(raw, form);
            using var doc = JsonDocument.Parse(raw); // still JSON a client can read
        }
    }

    [Theory]
    [MemberData(nameof(Forms))]
    public void EveryMapper_EveryForm_KeyNeverLeaves(string form, string literal)
    {
        foreach (int status in new[] { 400, 401, 429, 500 })
        {
            var openAi = Encoding.UTF8.GetBytes($$$"""{"error":{"message":"Incorrect API key provided: {{{literal}}}.","type":"invalid_request_error","code":"invalid_api_key"}}""");
            AssertClean(OpenAIErrors.FromResponse("openai", status, openAi, Key, null), form);
            var anthropic = Encoding.UTF8.GetBytes($$$"""{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key {{{literal}}}"}}""");
            AssertClean(AnthropicUpstreamErrors.FromResponse("claude", status, anthropic, Key, null), form);
            var gemini = Encoding.UTF8.GetBytes($$$"""{"error":{"code":{{{status}}},"message":"API key not valid: {{{literal}}}","status":"INVALID_ARGUMENT"}}""");
            AssertClean(GeminiUpstreamErrors.FromResponse("gemini", status, gemini, Key), form);
            var bedrock = Encoding.UTF8.GetBytes($$"""{"message":"The request signature we calculated does not match; secret {{literal}}"}""");
            AssertClean(BedrockErrors.FromResponse("aws", status, bedrock, "ValidationException", Key, null), form);
            // Not JSON at all (a proxy's page): the escapes are read as a reader would read them.
            var html = Encoding.UTF8.GetBytes($"<html>bad key {literal}</html>");
            AssertClean(OpenAIErrors.FromResponse("local", status, html, Key, null), form);
        }
    }

    [Theory]
    [MemberData(nameof(Forms))]
    public void Bytes_PassedOnAsTheyCame_AreScrubbedToo(string form, string literal)
    {
        byte[] body = Encoding.UTF8.GetBytes($$$"""{"type":"error","error":{"type":"invalid_request_error","message":"bad {{{literal}}}","{{{literal}}}":1}}""");
        string scrubbed = Encoding.UTF8.GetString(SecretScrubber.Scrub(body, Key));
        AssertClean(scrubbed, form);
        using var doc = JsonDocument.Parse(scrubbed); // still valid JSON
        Assert.Equal("bad [redacted]", doc.RootElement.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public void NoSecretPresent_TheSameTextComesBack()
    {
        const string text = """{"error":{"message":"caf\u00e9 \/ fine"}}""";
        Assert.Same(text, SecretScrubber.Scrub(text, Key));
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        Assert.Same(bytes, SecretScrubber.Scrub(bytes, Key));
    }
}
