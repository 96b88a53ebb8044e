using System.Buffers;
using System.Text;
using System.Text.Json;
using Jint;

namespace Gateway.Policies.Tests.Json;

/// <summary>
/// A hook's input is made into JS values only as far as the script reads it, and written back with the
/// untouched parts copied as bytes. What the script sees and what comes out must be exactly what
/// JSON.parse and JSON.stringify would give: each case runs once as a policy and once in a plain engine
/// through JSON.parse and JSON.stringify, and the two results must mean the same JSON.
/// </summary>
public sealed class PolicyJsonTests
{
    private const string Input = """
        {"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi \u00e9 \ud83d\ude00 \"q\" \\ \/"}],
         "temperature":0.5,"max_tokens":64,"stop":["\n","END"],"metadata":{"team":"a","n":[1,2,3],"deep":{"x":{"y":[{"z":1}]}}},
         "logit_bias":{"50256":-100,"10":5},"input":[1,2,3],"flag":true,"none":null,"mo\u0064el2":"escaped name","__proto__":{"p":1}}
        """;

    public static TheoryData<string> Bodies => new()
    {
        "return req;",
        "req.model = 'x'; return req;",
        "req.messages[0].content = 'new'; return req;",
        "req.messages.unshift({ role: 'system', content: 's' }); return req;",
        "const m = req.messages ?? []; const f = m[0]; if (f && f.role === 'system') f.content = 'pre\\n\\n' + f.content; else m.unshift({ role: 'system', content: 'pre' }); req.messages = m; return req;",
        "delete req.temperature; return req;",
        "delete req.messages[1].content; return req;",
        "Object.defineProperty(req, 'model', { value: 'hidden', enumerable: false }); return req;",
        "Object.defineProperty(req.messages[0], 'content', { get() { return 'got'; }, enumerable: true }); return req;",
        "return { ...req, extra: [1, 2.5, 'x', null, true, undefined, () => 1] };",
        "return Object.assign({}, req, { model: 'y' });",
        "req.messages.reverse(); return req;",
        "req.messages.length = 1; return req;",
        "req.messages.sort((a, b) => a.role < b.role ? 1 : -1); return req;",
        "req.messages[0].content += ' \\u2028 \\ud800 \"q\" \\\\ \\n \\t \\u0001 \\u007f é 😀 \\udc00x'; return req;",
        "req.toJSON = () => ({ replaced: true }); return req;",
        "req.messages[1].toJSON = function (k) { return 'key:' + k; }; return req;",
        "req.metadata.toJSON = () => undefined; Object.setPrototypeOf(req.logit_bias, { toJSON() { return undefined; } }); return req;",
        "Object.setPrototypeOf(req.metadata, { toJSON(k) { return 'proto:' + k; } }); return req;",
        "req.n = 0.1 + 0.2; req.big = 1e21; req.small = 1e-7; req.neg = -0; req.nan = NaN; req.inf = -Infinity; req.int = 2 ** 53; return req;",
        "req.messages[1] = req.messages[0]; return req;",
        "Object.freeze(req); return req;",
        "req.logit_bias['7'] = 1; return req;",
        "req.logit_bias = req.logit_bias; req.metadata.team = req.metadata.team; return req;",
        "req.input = req.input.map(x => x * 2); return req;",
        "req.input.push(4); req.stop[0] = 'x'; return req;",
        "req.messages = req.messages.filter(m => m.role !== 'system'); return req;",
        "let a = []; for (let i = 0; i < 300; i++) a = [a]; req.deep = a; return req;",
        "Object.defineProperty(req.input, 0, { get() { return 'g'; }, enumerable: true }); return req;",
        "req.input[5] = 6; return req;",
        "req.d = new Date(0); req.s = new String('boxed'); req.b = new Boolean(false); req.num = new Number(3); return req;",
        "req.sym = Symbol('x'); req.f = function () {}; req.u = undefined; return req;",
        "req.p = new Proxy({ a: 1 }, {}); req.pa = new Proxy([1, 2], {}); return req;",
        "class A { constructor() { this.x = 1; } } req.a = new A(); return req;",
        "req[Symbol.iterator] = 1; return req;",
        "req.metadata.deep.x.y[0].z = 2; return req;",
        "const keys = Object.keys(req.metadata.deep.x); req.keys = keys; return req;",
        "return { respond: req.messages };",
        "req.m2 = req['mo' + 'del2']; req.proto = Object.getPrototypeOf(req) === Object.prototype; return req;",
        "req.own = Object.prototype.hasOwnProperty.call(req, '__proto__'); req.__proto__ = null; return req;",
        "return JSON.parse(JSON.stringify(req));",
        "req.copy = structuredClone === undefined ? null : 1; return req;",
        "Object.defineProperty(req, 'copy', Object.getOwnPropertyDescriptor(req, 'model')); return req;",
        "delete req.model; req.model = 'm2'; return req;",
        "Object.assign(req, { model: 'z', max_tokens: 1 }); Reflect.set(req, 'temperature', 1); return req;",
        "const d = Object.getOwnPropertyDescriptor(req.messages[0], 'role'); req.messages[0].role = 'user'; req.d = d.value; return req;",
        "Object.defineProperty(req, 'flag', { writable: false }); req.stop = [...req.stop]; return req;",
        "req.max_tokens += 1; req.temperature *= 2; req.flag = !req.flag; return req;",
        "({ model: req.model } = { model: 'destructured' }); return req;",
        "Object.defineProperty(req, 'model', { value: 'defined' }); Object.defineProperty(req, 'temperature', { value: req.temperature }); return req;",
        "for (const k in req.metadata) req.metadata[k + '2'] = req.metadata[k]; return req;",
        "req.count = Object.entries(req.metadata).length; req.text = JSON.stringify(req.metadata); req.metadata.team = 'b'; return req;",
        "const ds = Object.getOwnPropertyDescriptors(req.messages[0]); req.messages[0].content = ds.content.value + '!'; return req;",
        "req.messages[0] = { ...req.messages[0], content: 'spread' }; return req;",
        "Object.preventExtensions(req.metadata); Object.seal(req.messages[1]); req.messages[1].content = 'sealed'; return req;",
        "req.s = 'x'.repeat(2047) + '😀' + 'y'.repeat(2046) + '😀😀' + '\\ud800' + 'é'.repeat(5000) + '\\udfff'; return req;",
        "let s = ''; for (let i = 0; i < 0x30; i++) s += String.fromCharCode(i); req.ctl = s + '\\u2028\\u2029\\ufeff\\uffff\\ud83d'; return req;",
    };

    /// <summary>Text the writer makes itself (every string, key and integer of a new object) is JSON.stringify's, byte for byte.</summary>
    [Fact]
    public void ANewObject_IsWrittenExactlyAsJsonStringifyWritesIt()
    {
        const string body = """
            let ctl = ''; for (let i = 0; i < 0x30; i++) ctl += String.fromCharCode(i);
            return { s: 'a"b\\c\u2028é😀\ud800' + 'x'.repeat(2047) + '😀' + ctl, 'k"\n': 1, n: -0, i: 123456789012, f: 0.1, e: 1e21, a: [1, 'x', null, true, undefined, () => 1],
                     o: { k: 'v', u: undefined }, d: new Date(0), big: 2 ** 53 };
            """;
        var expected = Reference(body, Input);
        var (outcome, actual) = Run(body, Input);
        Assert.Equal(PolicyOutcomeKind.Changed, outcome.Kind);
        Assert.Equal(expected, actual);
    }

    [Theory]
    [MemberData(nameof(Bodies))]
    public void AsJsonParseAndJsonStringifyWouldGive(string body)
    {
        var expected = Reference(body, Input);
        var (outcome, actual) = Run(body, Input);
        if (expected is null)
        {
            Assert.Equal(PolicyOutcomeKind.Failed, outcome.Kind);
            return;
        }
        Assert.True(outcome.Kind is PolicyOutcomeKind.Changed or PolicyOutcomeKind.Respond, $"{outcome.Kind}: {outcome.Message}");
        if (outcome.Kind == PolicyOutcomeKind.Respond) expected = Canonical($"JSON.parse(text).respond", expected);
        Assert.True(Canonical("JSON.parse(text)", expected) == Canonical("JSON.parse(text)", actual), $"expected {expected}\n     got {actual}");
    }

    [Theory]
    [InlineData("req.self = req; return req;")]
    [InlineData("req.messages.push(req.messages); return req;")]
    [InlineData("req.metadata.back = req.metadata; return req;")]
    public void ACycle_FailsAsJsonStringifyWould(string body)
    {
        Assert.Null(Reference(body, Input));
        var (outcome, _) = Run(body, Input);
        Assert.Equal(PolicyOutcomeKind.Failed, outcome.Kind);
        Assert.Contains("ycl", outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WhatTheHookDidNotTouch_KeepsItsExactText()
    {
        const string input = """{ "seed" : 12345678901234567890, "t":1.50,"s":"\u00e9\/","nested":{"n":1e2,"a":[1.0, "\u0041"]},"m":[{"c":"x"},{"c":"\ud83d\ude00"}] }""";
        var (untouched, same) = Run("return req;", input);
        Assert.Equal(PolicyOutcomeKind.Changed, untouched.Kind);
        Assert.Equal(input, same);

        var (_, edited) = Run("req.x = 1; req.m[0].c = 'y'; return req;", input);
        Assert.Equal("""{"seed" : 12345678901234567890,"t":1.50,"s":"\u00e9\/","nested":{"n":1e2,"a":[1.0, "\u0041"]},"m":[{"c":"y"},{"c":"\ud83d\ude00"}],"x":1}""", edited);
    }

    [Fact]
    public void TheHookSeesWhatJsonParseGives_EvenWhereTheTextDiffers()
    {
        const string input = """{"big":12345678901234567890,"e":"\u00e9","lone":"\ud800","dup":1,"dup":2,"n":-0,"x":1e400}""";
        var (outcome, output) = Run("""
            return { big: req.big === 12345678901234567000, e: req.e === 'é', lone: req.lone.charCodeAt(0) === 0xd800 && req.lone.length === 1,
                     dup: req.dup, keys: Object.keys(req).join(), negzero: Object.is(req.n, -0), inf: req.x === Infinity };
            """, input);
        Assert.Equal(PolicyOutcomeKind.Changed, outcome.Kind);
        Assert.Equal("""{"big":true,"e":true,"lone":true,"dup":2,"keys":"big,e,lone,dup,n,x","negzero":true,"inf":true}""", output);
    }

    [Theory]
    [InlineData("""{"a":1} x""")]
    [InlineData("""{"a":1,}""")]
    [InlineData("""{"a":1 /* c */}""")]
    [InlineData("""{"a":01}""")]
    [InlineData("""{"a":'x'}""")]
    [InlineData("")]
    public void InputJsonParseRefuses_IsUnreadable(string input)
    {
        var (outcome, _) = Run("return req;", input);
        Assert.Equal(PolicyOutcomeKind.Unreadable, outcome.Kind);
    }

    [Fact]
    public void InvalidUtf8_IsUnreadable()
    {
        var policy = Compile("return req;");
        var output = new ArrayBufferWriter<byte>();
        var outcome = policy.OnRequest([.. "{\"a\":\""u8, 0xC3, 0x28, .. "\"}"u8], new PolicyContext("m"), output);
        Assert.Equal(PolicyOutcomeKind.Unreadable, outcome.Kind);
    }

    /// <summary>
    /// An input the policy could not hold whole within its memory is not shown to it at all (the client's
    /// fault, whatever the policy's mode), even though a hook that reads little would not need it all:
    /// reading lazily must not let a large request make a fail-open policy fail and be skipped.
    /// </summary>
    [Fact]
    public void AnInputTooLargeForThePolicysMemory_IsUnreadable_ASmallerOneIsRead()
    {
        var limits = CompiledPolicyTests.TestLimits with { MaxMemoryBytes = 8 * 1024 * 1024 };
        var policy = CompiledPolicy.Compile("json.js", "export function onRequest(req) { req.seen = true; return req; }", 1, PolicyMode.FailOpen, limits, out var error);
        Assert.True(policy is not null, error);
        foreach (var (size, readable) in new[] { (1_000_000, true), (5_000_000, false) })
        {
            var output = new ArrayBufferWriter<byte>();
            var outcome = policy.OnRequest(Encoding.UTF8.GetBytes($$"""{"model":"m","messages":[{"role":"user","content":"{{new string('x', size)}}"}]}"""),
                new PolicyContext("m"), output);
            Assert.Equal(readable ? PolicyOutcomeKind.Changed : PolicyOutcomeKind.Unreadable, outcome.Kind);
        }
    }

    [Fact]
    public void ALargeInputAfterASmallOne_IsReadWhole()
    {
        var policy = Compile("req.n = req.messages.length; return req;");
        foreach (int count in new[] { 1, 5000, 2 })
        {
            var messages = string.Join(",", Enumerable.Range(0, count).Select(i => $$"""{"role":"user","content":"message {{i}}"}"""));
            var output = new ArrayBufferWriter<byte>();
            var outcome = policy.OnRequest(Encoding.UTF8.GetBytes($$"""{"model":"m","messages":[{{messages}}]}"""), new PolicyContext("m"), output);
            Assert.Equal(PolicyOutcomeKind.Changed, outcome.Kind);
            var root = JsonDocument.Parse(output.WrittenMemory).RootElement;
            Assert.Equal(count, root.GetProperty("n").GetInt32());
            Assert.Equal($"message {count - 1}", root.GetProperty("messages")[count - 1].GetProperty("content").GetString());
        }
    }

    private static CompiledPolicy Compile(string body)
    {
        var policy = CompiledPolicy.Compile("json.js", "export function onRequest(req, ctx) {\n" + body + "\n}", 1, PolicyMode.FailClosed,
            CompiledPolicyTests.TestLimits, out var error);
        Assert.True(policy is not null, error);
        return policy;
    }

    private static (PolicyOutcome Outcome, string Output) Run(string body, string input)
    {
        var output = new ArrayBufferWriter<byte>();
        var outcome = Compile(body).OnRequest(Encoding.UTF8.GetBytes(input), new PolicyContext("m"), output);
        return (outcome, Encoding.UTF8.GetString(output.WrittenSpan));
    }

    /// <summary>The JSON <paramref name="expression"/> gives of <c>text</c>, with every object's keys sorted: equal when the two texts mean the same JSON.</summary>
    private static string Canonical(string expression, string text)
    {
        var engine = new Engine(options => options.Strict().MaxJsonParseDepth(1024));
        engine.SetValue("text", text);
        engine.Execute("""
            function canon(v) {
              if (Array.isArray(v)) return v.map(canon);
              if (v && typeof v === 'object') { const o = {}; for (const k of Object.keys(v).sort()) o[k] = canon(v[k]); return o; }
              return v;
            }
            """);
        return engine.Evaluate("JSON.stringify(canon(" + expression + "))").AsString();
    }

    /// <summary>The same body in a plain engine, through JSON.parse and JSON.stringify; null when it throws.</summary>
    private static string? Reference(string body, string input)
    {
        var engine = new Engine(options => options.Strict());
        engine.SetValue("input", input);
        try
        {
            engine.Execute("function hook(req) {\n" + body + "\n}");
            return engine.Evaluate("JSON.stringify(hook(JSON.parse(input)))").AsString();
        }
        catch (Jint.Runtime.JavaScriptException)
        {
            return null;
        }
    }
}
