using System.Buffers;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Gateway.Policies.Pii;

/// <summary>The kinds of personal data and secrets the built-in redactor finds.</summary>
[Flags]
public enum PiiKinds
{
    None = 0,
    Email = 1,
    Phone = 2,
    CreditCard = 4,
    Iban = 8,
    UsSsn = 16,
    IpAddress = 32,
    Secret = 64,
    All = Email | Phone | CreditCard | Iban | UsSsn | IpAddress | Secret,
}

/// <summary>What a found value becomes.</summary>
public enum PiiMode
{
    /// <summary><c>[EMAIL]</c>: the value is gone.</summary>
    Mask,

    /// <summary><c>[EMAIL:3f9a1c2b]</c>: the same value always gives the same tag, so the model can still tell values apart.</summary>
    Hash,

    /// <summary><c>[EMAIL_1]</c>, kept in the request's <see cref="PiiVault"/> and put back in the answer: the user sees their data, the provider never does.</summary>
    Placeholder,
}

/// <summary>
/// Finds emails, phone numbers, credit cards (Luhn-checked), IBANs (mod-97-checked), US SSNs, IP
/// addresses and API-key-like secrets in text and replaces them. Patterns run with a timeout; a
/// candidate is confirmed by its checksum where the kind has one, so order numbers and dates stay.
/// </summary>
public static partial class PiiRedactor
{
    private const int TimeoutMs = 200;

    // Secrets first: a key can contain what looks like a phone number. Then the checksummed kinds.
    [GeneratedRegex(@"(?<![\w-])(?:sk-(?:proj-|ant-(?:api\d\d-)?)?[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}|xox[abprs]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|glpat-[A-Za-z0-9_-]{20,}|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex SecretPattern();

    [GeneratedRegex(@"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}(?![\w-])", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex EmailPattern();

    [GeneratedRegex(@"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex IbanPattern();

    [GeneratedRegex(@"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex CardPattern();

    [GeneratedRegex(@"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex SsnPattern();

    [GeneratedRegex(@"(?<![\w.:])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w.])|(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex IpPattern();

    [GeneratedRegex(@"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,4}(?![\w])", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex PhonePattern();

    private delegate bool Confirmer(ReadOnlySpan<char> candidate);

    private static readonly (PiiKinds Kind, string Label, string Mask, Func<Regex> Pattern, Confirmer Confirm)[] Detectors =
    [
        (PiiKinds.Secret, "SECRET", "[SECRET]", SecretPattern, _ => true),
        (PiiKinds.Email, "EMAIL", "[EMAIL]", EmailPattern, _ => true),
        (PiiKinds.Iban, "IBAN", "[IBAN]", IbanPattern, IsIban),
        (PiiKinds.CreditCard, "CARD", "[CARD]", CardPattern, IsCard),
        (PiiKinds.UsSsn, "SSN", "[SSN]", SsnPattern, _ => true),
        (PiiKinds.IpAddress, "IP", "[IP]", IpPattern, IsIp),
        (PiiKinds.Phone, "PHONE", "[PHONE]", PhonePattern, IsPhone),
    ];

    // What the secret pattern's alternatives begin with: text holding none of them has no secret.
    private static readonly SearchValues<string> SecretPrefixes = SearchValues.Create(
        ["sk-", "AKIA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox", "AIza", "glpat-", "eyJ"], StringComparison.Ordinal);

    /// <summary>The text with every value of <paramref name="kinds"/> replaced; the same string instance when nothing was found.</summary>
    /// <param name="vault">Where placeholders are kept; required for <see cref="PiiMode.Placeholder"/>.</param>
    public static string Redact(string text, PiiMode mode = PiiMode.Mask, PiiKinds kinds = PiiKinds.All, PiiVault? vault = null)
    {
        var scratch = new RedactScratch();
        try
        {
            return Redact(text, mode, kinds, vault, ref scratch, out var redacted) ? redacted.ToString() : text;
        }
        finally
        {
            scratch.Dispose();
        }
    }

    /// <summary>
    /// Redacts <paramref name="text"/>: true, with the result in <paramref name="redacted"/> (which lives in
    /// <paramref name="scratch"/>'s buffers until its next use), when anything was replaced. A detector
    /// runs only when the text holds what any of its matches must hold (an @, enough digits, a secret's
    /// prefix), so ordinary prose costs a few vectorised scans and no regular expression.
    /// </summary>
    internal static bool Redact(ReadOnlySpan<char> text, PiiMode mode, PiiKinds kinds, PiiVault? vault, ref RedactScratch scratch,
        out ReadOnlySpan<char> redacted)
    {
        if (mode == PiiMode.Placeholder) ArgumentNullException.ThrowIfNull(vault);
        redacted = text;
        bool changed = false;
        var facts = TextFacts.Of(text);
        foreach (var (kind, label, mask, pattern, confirm) in Detectors)
        {
            if ((kinds & kind) == 0 || !facts.Allows(kind)) continue;
            int last = 0;
            bool any = false;
            foreach (var match in pattern().EnumerateMatches(redacted))
            {
                var value = redacted.Slice(match.Index, match.Length);
                // Already a tag from an earlier detector, or a candidate its checksum rejects.
                if (value[0] == '[' || !confirm(value)) continue;
                if (!any) scratch.Begin(redacted.Length);
                any = true;
                scratch.Append(redacted[last..match.Index]);
                scratch.Append(mode switch
                {
                    PiiMode.Mask => mask,
                    PiiMode.Hash => $"[{label}:{Hash(value)}]",
                    _ => vault!.Placeholder(label, value.ToString()),
                });
                last = match.Index + match.Length;
            }
            if (!any) continue;
            scratch.Append(redacted[last..]);
            redacted = scratch.Finish();
            changed = true;
            // A tag can bring what a later detector looks for (a hash's hex digits, a placeholder's number).
            facts = TextFacts.Of(redacted);
        }
        return changed;
    }

    /// <summary>What a text holds that some detector's match needs: checked with vectorised scans before any pattern runs.</summary>
    private readonly struct TextFacts(bool at, int digits, int dots, int colons, bool secretPrefix)
    {
        public static TextFacts Of(ReadOnlySpan<char> text)
        {
            int digits = 0;
            for (var rest = text; digits < 13;)
            {
                int i = rest.IndexOfAnyInRange('0', '9');
                if (i < 0) break;
                digits++;
                rest = rest[(i + 1)..];
            }
            return new TextFacts(text.Contains('@'), digits, digits >= 4 ? text.Count('.') : 0, text.Count(':'), text.IndexOfAny(SecretPrefixes) >= 0);
        }

        public bool Allows(PiiKinds kind) => kind switch
        {
            PiiKinds.Secret => secretPrefix,
            PiiKinds.Email => at,
            PiiKinds.Iban => digits >= 2,
            PiiKinds.CreditCard => digits >= 13,
            PiiKinds.UsSsn or PiiKinds.Phone => digits >= 9,
            // IPv4: four numbers and three dots; IPv6: at least two colons.
            PiiKinds.IpAddress => (digits >= 4 && dots >= 3) || colons >= 2,
            _ => true,
        };
    }

    /// <summary>Whether a mode's name (as operators write it) is known: mask, hash, placeholder.</summary>
    public static bool TryParseMode(string name, out PiiMode mode)
    {
        (bool known, mode) = name switch
        {
            "mask" => (true, PiiMode.Mask),
            "hash" => (true, PiiMode.Hash),
            "placeholder" => (true, PiiMode.Placeholder),
            _ => (false, PiiMode.Mask),
        };
        return known;
    }

    /// <summary>Whether a kind's name (as operators write it) is known: email, phone, credit_card, iban, us_ssn, ip_address, secret.</summary>
    public static bool TryParseKind(string name, out PiiKinds kind)
    {
        kind = name switch
        {
            "email" => PiiKinds.Email,
            "phone" => PiiKinds.Phone,
            "credit_card" or "card" => PiiKinds.CreditCard,
            "iban" => PiiKinds.Iban,
            "us_ssn" or "ssn" => PiiKinds.UsSsn,
            "ip_address" or "ip" => PiiKinds.IpAddress,
            "secret" or "api_key" => PiiKinds.Secret,
            "all" => PiiKinds.All,
            _ => PiiKinds.None,
        };
        return kind != PiiKinds.None;
    }

    private static string Hash(ReadOnlySpan<char> value)
    {
        Span<byte> digest = stackalloc byte[32];
        byte[] utf8 = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(value.Length));
        try
        {
            SHA256.HashData(utf8.AsSpan(0, Encoding.UTF8.GetBytes(value, utf8)), digest);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(utf8);
        }
        return Convert.ToHexStringLower(digest[..4]);
    }

    internal static bool IsCard(ReadOnlySpan<char> candidate)
    {
        Span<int> digits = stackalloc int[19];
        int n = 0;
        foreach (char c in candidate)
        {
            if (c is ' ' or '-') continue;
            if (n == digits.Length) return false;
            digits[n++] = c - '0';
        }
        if (n < 13) return false;
        int sum = 0;
        for (int i = 0; i < n; i++)
        {
            int d = digits[n - 1 - i];
            if (i % 2 == 1 && (d *= 2) > 9) d -= 9;
            sum += d;
        }
        return sum % 10 == 0;
    }

    internal static bool IsIban(ReadOnlySpan<char> candidate)
    {
        Span<char> iban = stackalloc char[34];
        int n = 0;
        foreach (char c in candidate)
        {
            if (c == ' ') continue;
            if (n == iban.Length) return false;
            iban[n++] = c;
        }
        if (n < 15) return false;
        // Move the country and check digits to the end, letters to numbers (A=10), mod 97 must be 1.
        int remainder = 0;
        for (int i = 0; i < n; i++)
        {
            char c = iban[(i + 4) % n];
            if (char.IsAsciiDigit(c)) remainder = (remainder * 10 + (c - '0')) % 97;
            else if (char.IsAsciiLetterUpper(c)) remainder = (remainder * 100 + (c - 'A' + 10)) % 97;
            else return false;
        }
        return remainder == 1;
    }

    private static bool IsIp(ReadOnlySpan<char> candidate) =>
        candidate.Contains(':')
            ? candidate.Count(':') >= 2 && candidate.IndexOfAny(HexDigits) >= 0 && IPAddress.TryParse(candidate, out var v6)
                && v6.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            : IPAddress.TryParse(candidate, out _);

    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdefABCDEF");

    // Nine to fifteen digits (E.164), and a sign that it is a phone number rather than some other
    // grouped number: a leading +, an area code in parentheses, or at least ten digits.
    private static bool IsPhone(ReadOnlySpan<char> candidate)
    {
        int digits = 0;
        foreach (char c in candidate)
            if (char.IsAsciiDigit(c)) digits++;
        if (digits is < 9 or > 15) return false;
        return candidate.StartsWith('+') || candidate.Contains('(') || digits >= 10;
    }
}

/// <summary>
/// One request's placeholders and the values they stand for, so the answer can carry the user's own
/// data back. Lives as long as the request; never logged, never sent upstream.
/// </summary>
public sealed class PiiVault
{
    private readonly Dictionary<string, string> _byValue = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _byPlaceholder = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _counters = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public int Count => _byPlaceholder.Count;

    /// <summary>The placeholder for a value: the same value in one request always gets the same one.</summary>
    public string Placeholder(string label, string value)
    {
        lock (_gate)
        {
            if (_byValue.TryGetValue(value, out var existing)) return existing;
            int n = _counters[label] = _counters.GetValueOrDefault(label) + 1;
            string placeholder = $"[{label}_{n.ToString(CultureInfo.InvariantCulture)}]";
            _byValue[value] = placeholder;
            _byPlaceholder[placeholder] = value;
            return placeholder;
        }
    }

    /// <summary>The text with every placeholder of this request put back.</summary>
    public string Restore(string text)
    {
        lock (_gate)
        {
            if (_byPlaceholder.Count == 0 || !text.Contains('[', StringComparison.Ordinal)) return text;
            foreach (var (placeholder, value) in _byPlaceholder) text = text.Replace(placeholder, value, StringComparison.Ordinal);
            return text;
        }
    }

    /// <summary>
    /// How many characters at the end of <paramref name="text"/> could be the start of a placeholder
    /// not yet complete: a stream holds back only that tail until the next chunk says more.
    /// </summary>
    public int PendingTail(ReadOnlySpan<char> text)
    {
        int open = text.LastIndexOf('[');
        if (open < 0 || text[open..].Contains(']')) return 0;
        var tail = text[open..];
        lock (_gate)
        {
            foreach (var placeholder in _byPlaceholder.Keys)
                if (placeholder.AsSpan().StartsWith(tail, StringComparison.Ordinal)) return tail.Length;
        }
        return 0;
    }
}

/// <summary>
/// Two pooled character buffers for <see cref="PiiRedactor"/>: each detector that replaces something
/// writes its result into the buffer the previous result is not in.
/// </summary>
internal struct RedactScratch : IDisposable
{
    private char[]? _write, _done;
    private int _length;

    public void Begin(int capacity)
    {
        _length = 0;
        if (_write is null || _write.Length < capacity)
        {
            if (_write is not null) ArrayPool<char>.Shared.Return(_write);
            _write = ArrayPool<char>.Shared.Rent(Math.Max(capacity, 256));
        }
    }

    public void Append(scoped ReadOnlySpan<char> text)
    {
        if (_write!.Length - _length < text.Length)
        {
            var bigger = ArrayPool<char>.Shared.Rent(Math.Max(_write.Length * 2, _length + text.Length));
            _write.AsSpan(0, _length).CopyTo(bigger);
            ArrayPool<char>.Shared.Return(_write);
            _write = bigger;
        }
        text.CopyTo(_write.AsSpan(_length));
        _length += text.Length;
    }

    /// <summary>The text written since <see cref="Begin"/>; valid until the next <see cref="Finish"/>.</summary>
    public ReadOnlySpan<char> Finish()
    {
        (_write, _done) = (_done, _write);
        return _done.AsSpan(0, _length);
    }

    public void Dispose()
    {
        if (_write is not null) ArrayPool<char>.Shared.Return(_write);
        if (_done is not null) ArrayPool<char>.Shared.Return(_done);
        _write = _done = null;
    }
}
