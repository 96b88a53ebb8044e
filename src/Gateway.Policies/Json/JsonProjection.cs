using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Jint;
using Jint.Native;
using Jint.Native.Json;

namespace Gateway.Policies.Json;

/// <summary>
/// Hands a hook its input as JS values that are made only as far as the script reads them: an object
/// becomes its members on first touch (<see cref="LazyJsonObject"/>), one level at a time, and what the
/// script never reaches stays bytes. <see cref="PolicyJsonWriter"/> copies those bytes back unchanged.
/// One per engine, used by one call at a time; the input is copied, so nothing here outlives the
/// caller's buffer, and a value kept past its call reads nothing of a later one.
/// </summary>
internal sealed class JsonProjection
{
    private readonly Engine _engine;
    private readonly JsonParser _parser;
    private readonly int _maxDepth;
    private readonly JsonTape _tape = new();
    private readonly Dictionary<JsArray, ArrayOrigin> _arrays = new(ReferenceEqualityComparer.Instance);
    private byte[] _bytes = new byte[4096];

    public JsonProjection(Engine engine, JsonParser parser, int maxDepth)
    {
        _engine = engine;
        _parser = parser;
        _maxDepth = maxDepth;
    }

    /// <summary>Changes with every call: values of an earlier call see no bytes.</summary>
    public int Generation { get; private set; }

    /// <summary>
    /// About what the current input takes as JS values once all of it is read (its text as UTF-16 and an
    /// object or value per token): what a hook is held to before it is shown the input, so an input
    /// too large for the policy's memory is refused whole, as it was when it was parsed whole.
    /// </summary>
    public long FullSize { get; private set; }

    /// <summary>
    /// The value <paramref name="json"/> holds, as JSON.parse would give it. Input JSON.parse refuses
    /// throws as JSON.parse does (the caller reports it as unreadable).
    /// </summary>
    public JsValue Project(ReadOnlySpan<byte> json)
    {
        Generation++;
        _arrays.Clear();
        if (json.Length >= 3 && json[0] == 0xEF && json[1] == 0xBB && json[2] == 0xBF) json = json[3..];
        if (!Utf8.IsValid(json) || !_tape.TryRead(json, _maxDepth))
        {
            // Refused here: JSON.parse gives the error (or, where it is more lenient, the value).
            FullSize = 0;
            return _parser.Parse(json);
        }
        if (_bytes.Length < json.Length) _bytes = new byte[Math.Max(json.Length, _bytes.Length * 2)];
        json.CopyTo(_bytes);
        FullSize = 2L * json.Length + 48L * _tape.Count;
        return Value(0);
    }

    /// <summary>Frees a large input's copy and tape after its call, so one huge request does not pin its size in every pooled engine.</summary>
    public void Release()
    {
        _arrays.Clear();
        if (_bytes.Length > 64 * 1024) _bytes = new byte[4096];
        _tape.Trim();
    }

    /// <summary>The raw text of the value at token <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> Raw(int index)
    {
        ref var token = ref _tape[index];
        return _bytes.AsSpan(token.Start, token.End - token.Start);
    }

    /// <summary>The raw text from token <paramref name="first"/>'s start to token <paramref name="last"/>'s end (a member: name, colon, value).</summary>
    public ReadOnlySpan<byte> Raw(int first, int last) => _bytes.AsSpan(_tape[first].Start, _tape[last].End - _tape[first].Start);

    internal JsValue Value(int index)
    {
        ref var token = ref _tape[index];
        switch (token.Type)
        {
            case JsonTokenType.StartObject:
                return new LazyJsonObject(_engine, this, Generation, index);
            case JsonTokenType.StartArray:
                return Array(index);
            case JsonTokenType.String:
                return String(index);
            case JsonTokenType.Number:
                return JsNumber.Create(double.Parse(_bytes.AsSpan(token.Start, token.End - token.Start), NumberStyles.Float, CultureInfo.InvariantCulture));
            case JsonTokenType.True:
                return JsBoolean.True;
            case JsonTokenType.False:
                return JsBoolean.False;
            default:
                return JsValue.Null;
        }
    }

    /// <summary>A string or member name: copied when plain, decoded by JSON.parse's own rules when escaped (lone surrogates included).</summary>
    internal JsString String(int index)
    {
        ref var token = ref _tape[index];
        if (token.Escaped) return (JsString)_parser.Parse(_bytes.AsSpan(token.Start, token.End - token.Start));
        return JsString.Create(Encoding.UTF8.GetString(_bytes, token.Start + 1, token.End - token.Start - 2));
    }

    /// <summary>Arrays are made whole (their elements stay lazy): Jint's arrays cannot wait to be filled.</summary>
    private JsArray Array(int index)
    {
        int count = 0;
        for (int k = index + 1; _tape[k].Type != JsonTokenType.EndArray; k = _tape[k].Next) count++;
        var items = new JsValue[count];
        var tokens = new int[count];
        int i = 0;
        for (int k = index + 1; _tape[k].Type != JsonTokenType.EndArray; k = _tape[k].Next)
        {
            tokens[i] = k;
            items[i++] = Value(k);
        }
        var array = new JsArray(_engine, items);
        // The array may keep `items` as its own storage: the writer compares against a copy.
        _arrays[array] = new ArrayOrigin((JsValue[])items.Clone(), tokens);
        return array;
    }

    /// <summary>What an array made here held at first, to copy each element still there as its bytes.</summary>
    public bool TryGetOrigin(JsArray array, out ArrayOrigin origin) => _arrays.TryGetValue(array, out origin);

    internal readonly record struct ArrayOrigin(JsValue[] Items, int[] Tokens);

    /// <summary>Whether the object at token <paramref name="index"/> has a member named <paramref name="name"/> (plain ASCII), read off the tape.</summary>
    internal bool HasMember(int index, string name)
    {
        for (int k = index + 1; _tape[k].Type != JsonTokenType.EndObject; k = _tape[k + 1].Next)
        {
            ref var token = ref _tape[k];
            if (token.Escaped ? String(k).ToString() == name : Ascii.Equals(_bytes.AsSpan(token.Start + 1, token.End - token.Start - 2), name)) return true;
        }
        return false;
    }

    /// <summary>Puts a lazy object's members in place (its first touch); their values wait for their first read.</summary>
    internal void Fill(LazyJsonObject target, int index)
    {
        for (int k = index + 1; _tape[k].Type != JsonTokenType.EndObject; k = _tape[k + 1].Next)
        {
            // JSON.parse's CreateDataProperty: a repeated name keeps its first place and its last value.
            target.FastSetProperty(Name(k), new LazyJsonObject.JsonMember(target, k));
        }
    }

    /// <summary>The names most requests, answers and chunks use, made once: a member name is otherwise a new string each time.</summary>
    private static readonly string[] CommonNames =
    [
        "id", "object", "created", "model", "choices", "index", "delta", "content", "role", "finish_reason", "message", "messages",
        "usage", "prompt_tokens", "completion_tokens", "total_tokens", "logprobs", "system_fingerprint", "type", "text", "name",
        "tool_calls", "function", "arguments", "temperature", "max_tokens", "max_completion_tokens", "stream", "stream_options",
        "include_usage", "tools", "tool_choice", "top_p", "stop", "user", "metadata", "input", "refusal", "service_tier",
    ];

    private static readonly Dictionary<int, string[]> NamesByLength = CommonNames.GroupBy(n => n.Length).ToDictionary(g => g.Key, g => g.ToArray());

    private string Name(int index)
    {
        ref var token = ref _tape[index];
        if (!token.Escaped && NamesByLength.TryGetValue(token.End - token.Start - 2, out var candidates))
        {
            var raw = _bytes.AsSpan(token.Start + 1, token.End - token.Start - 2);
            foreach (var name in candidates)
                if (Ascii.Equals(raw, name)) return name;
        }
        return String(index).ToString();
    }
}
