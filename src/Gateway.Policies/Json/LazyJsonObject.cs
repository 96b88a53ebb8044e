using Jint;
using Jint.Native.Object;

namespace Gateway.Policies.Json;

/// <summary>
/// A JSON object as a policy sees it: an ordinary object whose members are filled in from the bytes on
/// the first operation that looks at any of them (Jint's own contract for lazily built objects: every
/// own-property path calls <see cref="ObjectInstance.Initialize"/> first). Until then it is a byte
/// range the writer copies as it is.
/// </summary>
internal sealed class LazyJsonObject : ObjectInstance
{
    private readonly JsonProjection _source;
    private readonly int _generation;

    public LazyJsonObject(Engine engine, JsonProjection source, int generation, int token) : base(engine)
    {
        _source = source;
        _generation = generation;
        Token = token;
    }

    /// <summary>The object's opening token in its call's tape.</summary>
    public int Token { get; }

    /// <summary>What the members were when filled in, to tell which the script has since replaced. Null while untouched.</summary>
    public MemberList? Members { get; internal set; }

    /// <summary>Made in the call now running (one kept past its call has no bytes to read: it stays empty).</summary>
    public bool IsCurrent => _generation == _source.Generation;

    /// <summary>Untouched: nothing has looked at a member, so the bytes are the object.</summary>
    public bool IsUntouched => Members is null && IsCurrent;

    /// <summary>
    /// <c>Get(name)</c> as the gateway reads a hook's result (<c>reject</c>, <c>respond</c>, <c>chunk</c>), without
    /// filling in an untouched object that has no such member: a hook that returns its input untouched
    /// has it copied back as its bytes.
    /// </summary>
    public static Jint.Native.JsValue Member(ObjectInstance obj, string name)
    {
        if (obj is LazyJsonObject { IsUntouched: true } lazy && !lazy._source.HasMember(lazy.Token, name))
            return lazy.Prototype?.Get(name) ?? Jint.Native.JsValue.Undefined;
        return obj.Get(name);
    }

    protected override void Initialize()
    {
        if (IsCurrent) _source.Fill(this, Token);
    }

    /// <param name="Names">Each member's name, in the document's order.</param>
    /// <param name="Values">The value each member was given when filled in.</param>
    /// <param name="Tokens">Each member's name token (its value is the next token).</param>
    /// <param name="Repeated">Whether a name occurs twice (JSON.parse keeps the last value, in the first one's place).</param>
    internal sealed record MemberList(string[] Names, Jint.Native.JsValue[] Values, int[] Tokens, bool Repeated);
}
