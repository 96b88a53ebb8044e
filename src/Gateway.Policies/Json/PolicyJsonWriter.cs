using System.Buffers;
using System.Buffers.Text;
using System.Runtime.CompilerServices;
using System.Text.Unicode;
using Jint;
using Jint.Native;
using Jint.Native.Json;
using Jint.Native.Object;
using Jint.Runtime;
using Jint.Runtime.Descriptors;

namespace Gateway.Policies.Json;

/// <summary>
/// JSON.stringify for what a hook returns, with one difference that is not observable in the result's
/// meaning: whatever the script left as it came (an object it never touched, a member it did not
/// replace, an array element still in its place) is copied as its original bytes, not rebuilt. So a
/// hook that edits one message pays for that message, and numbers and strings it did not touch keep
/// their exact text (an integer past 2^53 included). What this writer does not know as plain data (a
/// proxy, a boxed primitive, a class instance) and anything past its depth goes to Jint's own
/// serializer, which also gives the errors JSON.stringify gives (cycles, stack).
/// </summary>
internal sealed class PolicyJsonWriter
{
    private static readonly JsString ToJsonName = JsString.Create("toJSON");
    private static readonly JsString LengthName = JsString.Create("length");

    private readonly Engine _engine;
    private readonly JsonSerializer _serializer;
    private readonly JsonProjection _projection;
    private readonly int _maxDepth;
    private readonly List<ObjectInstance> _stack = [];
    private IBufferWriter<byte> _out = null!;

    public PolicyJsonWriter(Engine engine, JsonSerializer serializer, JsonProjection projection, int maxDepth)
    {
        _engine = engine;
        _serializer = serializer;
        _projection = projection;
        _maxDepth = maxDepth;
    }

    /// <summary>Writes <paramref name="value"/> as JSON.stringify(value) would. False, with nothing written, when it has no JSON form.</summary>
    public bool Write(JsValue value, IBufferWriter<byte> output)
    {
        _out = output;
        _stack.Clear();
        try
        {
            value = Resolve(value, JsString.Empty);
            if (IsNothing(value)) return false;
            WriteResolved(value, 0);
            return true;
        }
        finally
        {
            _stack.Clear();
            _out = null!;
        }
    }

    /// <summary>JSON.stringify's first step for a value: an object's toJSON, called with the value's key. An untouched object has none to call.</summary>
    private JsValue Resolve(JsValue value, JsValue key)
    {
        if (value is not ObjectInstance obj || (obj is LazyJsonObject lazy && lazy.IsUntouched && !InheritsToJson(lazy))) return value;
        var toJson = obj.Get(ToJsonName);
        return toJson.IsCallable() ? _engine.Call(toJson, obj, [key]) : value;
    }

    /// <summary>Whether the prototype chain of an untouched object offers a toJSON (looked up without filling the object in).</summary>
    private static bool InheritsToJson(ObjectInstance obj) => obj.Prototype is { } prototype && prototype.Get(ToJsonName).IsCallable();

    /// <summary>Values JSON.stringify leaves out of an object (and writes as null in an array).</summary>
    private static bool IsNothing(JsValue value) => value.IsUndefined() || value.IsSymbol() || value.IsCallable();

    private void WriteResolved(JsValue value, int depth)
    {
        switch (value)
        {
            case JsString s:
                WriteString(s.ToString());
                return;
            case JsNumber:
                WriteNumber(value);
                return;
            case JsBoolean b:
                WriteBytes(b.Equals(JsBoolean.True) ? "true"u8 : "false"u8);
                return;
            case LazyJsonObject lazy when lazy.IsUntouched:
                WriteBytes(_projection.Raw(lazy.Token));
                return;
            case ObjectInstance obj when depth >= _maxDepth || !RuntimeHelpers.TryEnsureSufficientExecutionStack() || OnStack(obj):
                // Past what this writer walks, or a cycle: Jint's serializer gives JSON.stringify's error.
                Delegate(value);
                return;
            case JsArray array:
                _stack.Add(array);
                WriteArray(array, depth + 1);
                _stack.RemoveAt(_stack.Count - 1);
                return;
            case LazyJsonObject or JsObject:
                var target = (ObjectInstance)value;
                _stack.Add(target);
                WriteObject(target, depth + 1);
                _stack.RemoveAt(_stack.Count - 1);
                return;
            default:
                if (value.IsNull()) WriteBytes("null"u8);
                else Delegate(value);
                return;
        }
    }

    /// <summary>
    /// JSON.stringify's SerializeJSONObject: enumerable own string keys in their order, each value read
    /// through Get. A member still as it came (never given a value by the script) is written with its
    /// name's bytes and, unless it is an object that may have changed inside, its value's bytes.
    /// </summary>
    private void WriteObject(ObjectInstance obj, int depth)
    {
        WriteByte((byte)'{');
        bool first = true;
        foreach (var key in obj.GetOwnPropertyKeys(Types.String))
        {
            var descriptor = obj.GetOwnProperty(key);
            if (descriptor == PropertyDescriptor.Undefined || !descriptor.Enumerable) continue;
            if (descriptor is LazyJsonObject.JsonMember member && ReferenceEquals(member.Owner, obj) && member.Owner.IsCurrent && !member.Written)
            {
                var value = member.Made ? descriptor.Value : null;
                if (value is null || value is not ObjectInstance)
                {
                    // Never read, or read as a primitive: the bytes are the value.
                    if (!first) WriteByte((byte)',');
                    first = false;
                    WriteBytes(_projection.Raw(member.NameToken, member.NameToken + 1));
                    continue;
                }
                // An object read from the bytes: written by its own rules (a toJSON it was given may even drop it).
                value = Resolve(value, key);
                if (IsNothing(value)) continue;
                if (!first) WriteByte((byte)',');
                first = false;
                WriteBytes(_projection.Raw(member.NameToken));
                WriteByte((byte)':');
                WriteResolved(value, depth);
                continue;
            }
            var other = Resolve(descriptor.IsDataDescriptor() ? descriptor.Value : obj.Get(key), key);
            if (IsNothing(other)) continue;
            if (!first) WriteByte((byte)',');
            first = false;
            WriteString(key.ToString());
            WriteByte((byte)':');
            WriteResolved(other, depth);
        }
        WriteByte((byte)'}');
    }

    /// <summary>JSON.stringify's SerializeJSONArray; an element still where the input had it is copied as its bytes.</summary>
    private void WriteArray(JsArray array, int depth)
    {
        bool known = _projection.TryGetOrigin(array, out var origin);
        uint length = (uint)TypeConverter.ToLength(array.Get(LengthName));
        WriteByte((byte)'[');
        for (uint i = 0; i < length; i++)
        {
            if (i > 0) WriteByte((byte)',');
            var value = array[i];
            if (known && i < (uint)origin.Items.Length && ReferenceEquals(value, origin.Items[i]) && value is not ObjectInstance)
            {
                WriteBytes(_projection.Raw(origin.Tokens[i]));
                continue;
            }
            if (value is ObjectInstance) value = Resolve(value, JsString.Create(i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            if (IsNothing(value)) WriteBytes("null"u8);
            else WriteResolved(value, depth);
        }
        WriteByte((byte)']');
    }

    private bool OnStack(ObjectInstance obj)
    {
        foreach (var open in _stack)
            if (ReferenceEquals(open, obj)) return true;
        return false;
    }

    /// <summary>Jint's serializer for one value: the same text JSON.stringify gives, and its errors.</summary>
    private void Delegate(JsValue value)
    {
        if (!_serializer.Serialize(value, _out)) WriteBytes("null"u8);
    }

    private void WriteNumber(JsValue value)
    {
        double number = value.AsNumber();
        if (!double.IsFinite(number))
        {
            WriteBytes("null"u8);
            return;
        }
        // Integers print the same in JS and .NET (and -0 as 0); anything else is formatted by JS's rules.
        if (number == Math.Floor(number) && Math.Abs(number) < 1e15)
        {
            var span = _out.GetSpan(24);
            Utf8Formatter.TryFormat((long)number, span, out int written);
            _out.Advance(written);
            return;
        }
        Delegate(value);
    }

    /// <summary>What QuoteJSONString escapes, apart from lone surrogates (which the transcoder finds).</summary>
    private static readonly SearchValues<char> Escaped = SearchValues.Create(
        "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000B\f\r\u000E\u000F\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F\"\\");

    /// <summary>JSON.stringify's QuoteJSONString, into UTF-8: only quote, backslash, controls and lone surrogates are escaped.</summary>
    private void WriteString(string text)
    {
        WriteByte((byte)'"');
        var rest = text.AsSpan();
        while (!rest.IsEmpty)
        {
            int stop = rest.IndexOfAny(Escaped);
            WriteText(stop < 0 ? rest : rest[..stop]);
            if (stop < 0) break;
            char c = rest[stop];
            rest = rest[(stop + 1)..];
            switch (c)
            {
                case '"': WriteBytes("\\\""u8); break;
                case '\\': WriteBytes("\\\\"u8); break;
                case '\b': WriteBytes("\\b"u8); break;
                case '\f': WriteBytes("\\f"u8); break;
                case '\n': WriteBytes("\\n"u8); break;
                case '\r': WriteBytes("\\r"u8); break;
                case '\t': WriteBytes("\\t"u8); break;
                default: WriteUnicodeEscape(c); break;
            }
        }
        WriteByte((byte)'"');
    }

    /// <summary>Text with nothing to escape but lone surrogates, transcoded in chunks (a pair split by a chunk's end is read whole by the next).</summary>
    private void WriteText(ReadOnlySpan<char> text)
    {
        while (!text.IsEmpty)
        {
            int take = Math.Min(text.Length, 2048);
            var span = _out.GetSpan(take * 3);
            var status = Utf8.FromUtf16(text[..take], span, out int read, out int written, replaceInvalidSequences: false, isFinalBlock: take == text.Length);
            _out.Advance(written);
            text = text[read..];
            if (status == OperationStatus.InvalidData)
            {
                WriteUnicodeEscape(text[0]);
                text = text[1..];
            }
        }
    }

    /// <summary>A backslash, u and four lowercase hex digits.</summary>
    private void WriteUnicodeEscape(char c)
    {
        var span = _out.GetSpan(6);
        span[0] = (byte)'\\';
        span[1] = (byte)'u';
        for (int k = 0; k < 4; k++) span[2 + k] = (byte)"0123456789abcdef"[(c >> (12 - 4 * k)) & 0xF];
        _out.Advance(6);
    }

    private void WriteByte(byte value)
    {
        _out.GetSpan(1)[0] = value;
        _out.Advance(1);
    }

    private void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_out.GetSpan(bytes.Length));
        _out.Advance(bytes.Length);
    }
}
