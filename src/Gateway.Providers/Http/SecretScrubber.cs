using System.Text;
using System.Text.Json;

namespace Gateway.Providers.Http;

/// <summary>
/// Takes the gateway's provider credentials out of text a provider sent back (error bodies, which
/// the gateway passes on or quotes), in whatever form they came: as they are, or JSON-escaped
/// (<c>\u0073\u006b...</c>, <c>\/</c>), where a plain search would not see them but any JSON reader
/// would. Every provider's error mapper runs its body through here first.
/// </summary>
internal static class SecretScrubber
{
    public const string Mask = "[redacted]";

    /// <returns>The text with each secret replaced by <see cref="Mask"/>; the same instance when none appears.</returns>
    public static string Scrub(string text, string? secret, string? another = null)
    {
        bool first = !string.IsNullOrEmpty(secret), second = !string.IsNullOrEmpty(another);
        if (!first && !second) return text;
        if (first) text = text.Replace(secret!, Mask, StringComparison.Ordinal);
        if (second) text = text.Replace(another!, Mask, StringComparison.Ordinal);
        // Without a backslash nothing is escaped: the plain replacement was all there was to do.
        if (!text.Contains('\\', StringComparison.Ordinal)) return text;
        return TryScrubJson(text, secret, another, out var json) ? json : ScrubDecoded(text, secret, another);
    }

    /// <summary>Scrubs bytes (an error body passed on as it came); the same array when no secret appears.</summary>
    public static byte[] Scrub(byte[] body, string? secret, string? another = null)
    {
        string text = Encoding.UTF8.GetString(body);
        string scrubbed = Scrub(text, secret, another);
        return ReferenceEquals(text, scrubbed) ? body : Encoding.UTF8.GetBytes(scrubbed);
    }

    private static bool Holds(string value, string? secret, string? another) =>
        (!string.IsNullOrEmpty(secret) && value.Contains(secret, StringComparison.Ordinal))
        || (!string.IsNullOrEmpty(another) && value.Contains(another, StringComparison.Ordinal));

    private static string Replace(string value, string? secret, string? another)
    {
        if (!string.IsNullOrEmpty(secret)) value = value.Replace(secret, Mask, StringComparison.Ordinal);
        if (!string.IsNullOrEmpty(another)) value = value.Replace(another, Mask, StringComparison.Ordinal);
        return value;
    }

    /// <summary>Valid JSON: each string (names included) is decoded; one that holds a secret is written again without it, the rest stays byte for byte.</summary>
    private static bool TryScrubJson(string text, string? secret, string? another, out string result)
    {
        result = text;
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { MaxDepth = 256, AllowTrailingCommas = false });
        StringBuilder? output = null;
        int copied = 0;
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.PropertyName) || !reader.ValueIsEscaped) continue;
                string value = reader.GetString()!;
                if (!Holds(value, secret, another)) continue;
                int start = (int)reader.TokenStartIndex, end = start + reader.ValueSpan.Length + 2;
                output ??= new StringBuilder(text.Length);
                output.Append(Encoding.UTF8.GetString(bytes, copied, start - copied));
                output.Append('"').Append(JsonEncodedText.Encode(Replace(value, secret, another)).Value).Append('"');
                copied = end;
            }
        }
        catch (JsonException)
        {
            return false;
        }
        if (output is not null)
        {
            output.Append(Encoding.UTF8.GetString(bytes, copied, bytes.Length - copied));
            result = output.ToString();
        }
        return true;
    }

    /// <summary>Not JSON (a proxy's page, plain text): read as a reader of escapes would, and redacted in that form.</summary>
    private static string ScrubDecoded(string text, string? secret, string? another)
    {
        var decoded = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c != '\\' || i + 1 >= text.Length)
            {
                decoded.Append(c);
                continue;
            }
            char next = text[i + 1];
            if (next == 'u' && i + 5 < text.Length && ushort.TryParse(text.AsSpan(i + 2, 4), System.Globalization.NumberStyles.HexNumber, null, out ushort unit))
            {
                decoded.Append((char)unit);
                i += 5;
            }
            else if (next is '/' or '\\' or '"')
            {
                decoded.Append(next);
                i++;
            }
            else
            {
                decoded.Append(c);
            }
        }
        string plain = decoded.ToString();
        return Holds(plain, secret, another) ? Replace(plain, secret, another) : text;
    }
}
