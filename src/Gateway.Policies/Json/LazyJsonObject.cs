using Jint;
using Jint.Native;
using Jint.Native.Object;
using Jint.Runtime.Descriptors;

namespace Gateway.Policies.Json;

/// <summary>
/// A JSON object as a policy sees it: an ordinary object whose members are put in place on the first
/// operation that looks at any of them (Jint's own contract for lazily built objects: every
/// own-property path calls <see cref="ObjectInstance.Initialize"/> first). Until then it is a byte
/// range the writer copies as it is. Each member's value is made from its bytes only when read
/// (<see cref="JsonMember"/>), so touching one member costs that member.
/// </summary>
internal sealed class LazyJsonObject : ObjectInstance
{
    private readonly JsonProjection _source;
    private readonly int _generation;
    private bool _filled;

    public LazyJsonObject(Engine engine, JsonProjection source, int generation, int token) : base(engine)
    {
        _source = source;
        _generation = generation;
        Token = token;
    }

    /// <summary>The object's opening token in its call's tape.</summary>
    public int Token { get; }

    /// <summary>Made in the call now running (one kept past its call has no bytes to read: it stays empty).</summary>
    public bool IsCurrent => _generation == _source.Generation;

    /// <summary>Untouched: nothing has looked at its members, so the bytes are the object.</summary>
    public bool IsUntouched => !_filled && IsCurrent;

    /// <summary>
    /// <c>Get(name)</c> as the gateway reads a hook's result (<c>reject</c>, <c>respond</c>, <c>chunk</c>), without
    /// filling in an untouched object that has no such member: a hook that returns its input untouched
    /// has it copied back as its bytes.
    /// </summary>
    public static JsValue Read(ObjectInstance obj, string name)
    {
        if (obj is LazyJsonObject { IsUntouched: true } lazy && !lazy._source.HasMember(lazy.Token, name))
            return lazy.Prototype?.Get(name) ?? JsValue.Undefined;
        return obj.Get(name);
    }

    protected override void Initialize()
    {
        _filled = true;
        if (IsCurrent) _source.Fill(this, Token);
    }

    /// <summary>
    /// One member as it came: a configurable, enumerable, writable data property whose value is made
    /// from its bytes on first read. A write is kept here (the engine writes a data property through its
    /// descriptor), so the writer knows a member the script never read or replaced by its descriptor
    /// alone, and copies its bytes.
    /// </summary>
    internal sealed class JsonMember : PropertyDescriptor
    {
        private JsValue? _value;

        public JsonMember(LazyJsonObject owner, int nameToken) : base(PropertyFlag.ConfigurableEnumerableWritable | PropertyFlag.CustomJsValue)
        {
            Owner = owner;
            NameToken = nameToken;
        }

        public LazyJsonObject Owner { get; }

        /// <summary>The member's name token in the tape (its value is the next token).</summary>
        public int NameToken { get; }

        /// <summary>The script gave the member a value of its own.</summary>
        public bool Written { get; private set; }

        /// <summary>The value has been made from the bytes (and may have been handed to the script).</summary>
        public bool Made => _value is not null && !Written;

        protected override JsValue? CustomValue
        {
            get => _value ??= Owner.IsCurrent ? Owner._source.Value(NameToken + 1) : JsValue.Undefined;
            set
            {
                _value = value ?? JsValue.Undefined;
                Written = true;
            }
        }
    }
}
