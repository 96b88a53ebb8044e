using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Gateway.Policies.Pii;

/// <summary>
/// The built-in PII redaction's request hook, in C# over the request's UTF-8 JSON: the text a client
/// wrote (message content and text parts, tool-call arguments, embeddings input) is read in place,
/// and only a string that held something is rewritten; every other byte is copied as it came. A
/// request with nothing to redact is left unchanged without a byte written.
/// </summary>
internal sealed class PiiRequestRedactor(PiiMode mode, PiiKinds kinds) : INativePolicy
{
    private static ReadOnlySpan<byte> Messages => "messages"u8;
    private static ReadOnlySpan<byte> Input => "input"u8;
    private static ReadOnlySpan<byte> Content => "content"u8;
    private static ReadOnlySpan<byte> ToolCalls => "tool_calls"u8;
    private static ReadOnlySpan<byte> Function => "function"u8;
    private static ReadOnlySpan<byte> Arguments => "arguments"u8;
    private static ReadOnlySpan<byte> Text => "text"u8;

    public PolicyHooks Hooks => PolicyHooks.OnRequest;

    public PolicyOutcome Call(PolicyHooks hook, ReadOnlySpan<byte> json, PolicyContext context, IBufferWriter<byte> output)
    {
        if (hook != PolicyHooks.OnRequest) return PolicyOutcome.Unchanged;
        var edits = new Edits(json, mode, kinds, mode == PiiMode.Placeholder ? context.Vault : null);
        try
        {
            // As deep as the gateway accepts: a deeply nested tool schema must not hide the messages.
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = PolicyLimits.Default.MaxJsonDepth });
            try
            {
                Walk(ref reader, ref edits);
            }
            catch (JsonException ex)
            {
                return PolicyOutcome.Unreadable($"the request is not JSON the redaction can read: {ex.Message}");
            }
            if (edits.Count == 0) return PolicyOutcome.Unchanged;
            edits.WriteTo(output);
            return PolicyOutcome.Changed;
        }
        finally
        {
            edits.Dispose();
        }
    }

    // The same places the JavaScript version of this policy redacted: messages[].content (a string, or
    // the text of its parts), messages[].tool_calls[].function.arguments, and input (a string or strings).
    private static void Walk(ref Utf8JsonReader reader, ref Edits edits)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool messages = reader.ValueTextEquals(Messages), input = !messages && reader.ValueTextEquals(Input);
            reader.Read();
            if (messages && reader.TokenType == JsonTokenType.StartArray)
            {
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    if (reader.TokenType == JsonTokenType.StartObject) Message(ref reader, ref edits);
                    else reader.Skip();
            }
            else if (input && reader.TokenType == JsonTokenType.String)
            {
                edits.Consider(ref reader);
            }
            else if (input && reader.TokenType == JsonTokenType.StartArray)
            {
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    if (reader.TokenType == JsonTokenType.String) edits.Consider(ref reader);
                    else reader.Skip();
            }
            else
            {
                reader.Skip();
            }
        }
    }

    private static void Message(ref Utf8JsonReader reader, ref Edits edits)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool content = reader.ValueTextEquals(Content), toolCalls = !content && reader.ValueTextEquals(ToolCalls);
            reader.Read();
            if (content && reader.TokenType == JsonTokenType.String)
            {
                edits.Consider(ref reader);
            }
            else if (content && reader.TokenType == JsonTokenType.StartArray)
            {
                // Every part's text, whatever its type says: a part's type decides nothing about what
                // a provider might read from it.
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    if (reader.TokenType == JsonTokenType.StartObject) Member(ref reader, ref edits, Text);
                    else reader.Skip();
            }
            else if (toolCalls && reader.TokenType == JsonTokenType.StartArray)
            {
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    if (reader.TokenType == JsonTokenType.StartObject) ToolCall(ref reader, ref edits);
                    else reader.Skip();
            }
            else
            {
                reader.Skip();
            }
        }
    }

    private static void ToolCall(ref Utf8JsonReader reader, ref Edits edits)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool function = reader.ValueTextEquals(Function);
            reader.Read();
            if (function && reader.TokenType == JsonTokenType.StartObject) Member(ref reader, ref edits, Arguments);
            else reader.Skip();
        }
    }

    /// <summary>Inside an object: every string member named <paramref name="name"/> (a duplicate too) is considered.</summary>
    private static void Member(ref Utf8JsonReader reader, ref Edits edits, ReadOnlySpan<byte> name)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool match = reader.ValueTextEquals(name);
            reader.Read();
            if (match && reader.TokenType == JsonTokenType.String) edits.Consider(ref reader);
            else reader.Skip();
        }
    }

    /// <summary>The strings that changed, in order, with their new text; then the request written with them.</summary>
    private ref struct Edits(ReadOnlySpan<byte> json, PiiMode mode, PiiKinds kinds, PiiVault? vault)
    {
        private readonly ReadOnlySpan<byte> _json = json;
        private RedactScratch _scratch;
        private char[]? _chars;
        private List<(int Start, int End, string Text)>? _edits;

        public readonly int Count => _edits?.Count ?? 0;

        public void Consider(ref Utf8JsonReader reader)
        {
            var raw = reader.ValueSpan;
            if (_chars is null || _chars.Length < raw.Length)
            {
                if (_chars is not null) ArrayPool<char>.Shared.Return(_chars);
                _chars = ArrayPool<char>.Shared.Rent(Math.Max(raw.Length, 512));
            }
            // Escapes decoded (an email written as \u0040 is still an email); plain strings transcoded directly.
            int length = reader.ValueIsEscaped ? Unescape(raw, _chars) : Encoding.UTF8.GetChars(raw, _chars);
            if (!PiiRedactor.Redact(_chars.AsSpan(0, length), mode, kinds, vault, ref _scratch, out var redacted)) return;
            int start = (int)reader.TokenStartIndex;
            (_edits ??= []).Add((start, start + raw.Length + 2, redacted.ToString()));
        }

        public readonly void WriteTo(IBufferWriter<byte> output)
        {
            int copied = 0;
            foreach (var (start, end, text) in _edits!)
            {
                output.Write(_json[copied..start]);
                WriteString(output, text);
                copied = end;
            }
            output.Write(_json[copied..]);
        }

        public void Dispose()
        {
            _scratch.Dispose();
            if (_chars is not null) ArrayPool<char>.Shared.Return(_chars);
            _chars = null;
        }
    }

    /// <summary>
    /// A JSON string's text with its escapes decoded. Ours, not the reader's: a lone surrogate escape
    /// (<c>\ud800</c>) is legal JSON the reader refuses to decode, and it must not make a request unredactable.
    /// </summary>
    internal static int Unescape(ReadOnlySpan<byte> raw, Span<char> chars)
    {
        int n = 0;
        while (!raw.IsEmpty)
        {
            int slash = raw.IndexOf((byte)'\\');
            var run = slash < 0 ? raw : raw[..slash];
            n += Encoding.UTF8.GetChars(run, chars[n..]);
            if (slash < 0) break;
            // The reader has validated the escapes: a known letter, or u and four hex digits.
            byte kind = raw[slash + 1];
            if (kind == (byte)'u')
            {
                chars[n++] = (char)int.Parse(raw.Slice(slash + 2, 4), System.Globalization.NumberStyles.AllowHexSpecifier,
                    System.Globalization.CultureInfo.InvariantCulture);
                raw = raw[(slash + 6)..];
                continue;
            }
            chars[n++] = kind switch
            {
                (byte)'b' => '\b',
                (byte)'f' => '\f',
                (byte)'n' => '\n',
                (byte)'r' => '\r',
                (byte)'t' => '\t',
                _ => (char)kind, // " \ /
            };
            raw = raw[(slash + 2)..];
        }
        return n;
    }

    /// <summary>A JSON string literal: quotes, backslashes, control characters and lone surrogates escaped; the rest as UTF-8.</summary>
    internal static void WriteString(IBufferWriter<byte> output, ReadOnlySpan<char> text)
    {
        // Worst case six bytes a character (\uXXXX), two quotes.
        var span = output.GetSpan(text.Length * 6 + 2);
        int n = 0;
        span[n++] = (byte)'"';
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c < 0x80)
            {
                switch (c)
                {
                    case '"': span[n++] = (byte)'\\'; span[n++] = (byte)'"'; break;
                    case '\\': span[n++] = (byte)'\\'; span[n++] = (byte)'\\'; break;
                    case '\n': span[n++] = (byte)'\\'; span[n++] = (byte)'n'; break;
                    case '\r': span[n++] = (byte)'\\'; span[n++] = (byte)'r'; break;
                    case '\t': span[n++] = (byte)'\\'; span[n++] = (byte)'t'; break;
                    case < ' ': n += Escape(span[n..], c); break;
                    default: span[n++] = (byte)c; break;
                }
            }
            else if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                n += new Rune(c, text[++i]).EncodeToUtf8(span[n..]);
            }
            else if (char.IsSurrogate(c))
            {
                n += Escape(span[n..], c);
            }
            else
            {
                n += new Rune(c).EncodeToUtf8(span[n..]);
            }
        }
        span[n++] = (byte)'"';
        output.Advance(n);
    }

    private static int Escape(Span<byte> span, char c)
    {
        "\\u"u8.CopyTo(span);
        ((int)c).TryFormat(span[2..], out _, "x4", System.Globalization.CultureInfo.InvariantCulture);
        return 6;
    }
}
