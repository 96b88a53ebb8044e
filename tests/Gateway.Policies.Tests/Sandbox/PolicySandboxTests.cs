using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Policies.Tests.Sandbox;

/// <summary>
/// Hostile policies, run as the gateway runs them (on a <see cref="PolicyRunner"/> worker): each fails
/// like any other limit, and the process, the worker and the next call are fine. Allocation is measured
/// process-wide, so these tests do not run beside others.
/// </summary>
[Collection(nameof(SandboxCollection))]
public sealed class PolicySandboxTests : IDisposable
{
    private const string Request = """{"model":"m","messages":[{"role":"user","content":"hi"}]}""";
    private const long MemoryLimit = 32L * 1024 * 1024;
    private readonly PolicyRunner _runner = new(NullLogger.Instance, workers: 2);

    public void Dispose() => _runner.Dispose();

    private static CompiledPolicy Compile(string code, PolicyMode mode = PolicyMode.FailClosed)
    {
        var policy = CompiledPolicy.Compile("hostile.js", code, 1, mode, CompiledPolicyTests.TestLimits, out var error);
        Assert.True(policy is not null, error);
        return policy;
    }

    private async Task<(PolicyOutcome Outcome, string Output)> Run(CompiledPolicy policy, string request = Request, string key = "k1")
    {
        var (outcome, output) = await _runner.CallAsync(policy, PolicyHooks.OnRequest, Encoding.UTF8.GetBytes(request),
            new PolicyContext("m", key), size => new TestBuffer(size));
        using (output) return (outcome, output is null ? "" : Encoding.UTF8.GetString(output.WrittenMemory.Span));
    }

    private async Task AssertStillServes(CompiledPolicy policy)
    {
        var ok = Compile("export function onRequest(req) { req.after = true; return req; }");
        var (outcome, output) = await Run(ok);
        Assert.Equal(PolicyOutcomeKind.Changed, outcome.Kind);
        Assert.Contains("\"after\":true", output, StringComparison.Ordinal);
        _ = policy;
    }

    // Each of these overflowed the native stack (SIGSEGV: the process gone, nothing logged) before the
    // engine's stack guard was on; now each is a RangeError the policy fails with.
    [Theory]
    [InlineData("const p = new Proxy({}, { get(t, k, r) { return r[k]; } }); p.x;")]
    [InlineData("let p = {}; for (let i = 0; i < 200000; i++) p = new Proxy(p, {}); p.x;")]
    [InlineData("let a = []; for (let i = 0; i < 200000; i++) a = [a]; JSON.stringify(a);")]
    [InlineData("let a = []; for (let i = 0; i < 200000; i++) a = [a]; JSON.stringify(a, ['x']);")]
    [InlineData("let a = {}; for (let i = 0; i < 200000; i++) a = { a }; JSON.stringify(a, null, 2);")]
    [InlineData("let a = []; for (let i = 0; i < 200000; i++) a = [a]; String(a);")]
    [InlineData("let a = []; for (let i = 0; i < 200000; i++) a = [a]; a.join(',');")]
    [InlineData("let a = []; for (let i = 0; i < 200000; i++) a = [a]; a.flat(Infinity);")]
    [InlineData("let f = function () {}; for (let i = 0; i < 200000; i++) f = f.bind(null); f();")]
    [InlineData("const o = { get x() { return this.x; } }; o.x;")]
    [InlineData("const o = { toString() { return String(this); } }; String(o);")]
    [InlineData("const o = { valueOf() { return +this; } }; +o;")]
    [InlineData("const o = { toJSON() { return { o: this }; } }; JSON.stringify(o);")]
    [InlineData("let a = []; for (let i = 0; i < 100000; i++) a = [a]; return { ...req, deep: a };")]
    [InlineData("let a = {}; for (let i = 0; i < 100000; i++) a = { a }; req.deep = a; return req;")]
    public async Task DeepNativeRecursion_FailsAsALimit_AndTheGatewayKeepsServing(string body)
    {
        var policy = Compile($"export function onRequest(req) {{ {body} }}");
        var (outcome, _) = await Run(policy);
        Assert.Equal(PolicyOutcomeKind.Failed, outcome.Kind);
        Assert.True(outcome.LimitHit, outcome.Message);
        await AssertStillServes(policy);
    }

    [Fact]
    public async Task DeepPrototypeChain_IsWalkedWithoutRecursion()
    {
        var policy = Compile("export function onRequest(req) { let o = { x: 1 }; for (let i = 0; i < 200000; i++) o = Object.create(o); req.x = o.x + ('x' in o ? 1 : 0); return req; }");
        var (outcome, output) = await Run(policy);
        Assert.True(outcome.Kind is PolicyOutcomeKind.Changed or PolicyOutcomeKind.Failed, outcome.Message);
        await AssertStillServes(policy);
        _ = output;
    }

    [Fact]
    public async Task DeepRecursion_FailOpen_IsSkippedNotCrashed()
    {
        var policy = Compile("export function onRequest(req) { let a = []; for (let i = 0; i < 200000; i++) a = [a]; JSON.stringify(a); }", PolicyMode.FailOpen);
        var (outcome, _) = await Run(policy);
        Assert.Equal(PolicyOutcomeKind.Failed, outcome.Kind);
        Assert.Equal(PolicyMode.FailOpen, policy.Mode);
    }

    // What the constraint checks could not interrupt is gone: a blocking wait, and BigInt (one squaring
    // or toString of a huge one ran for minutes past a 100 ms limit).
    [Theory]
    [InlineData("Atomics.wait(new Int32Array(new SharedArrayBuffer(16)), 0, 0, 5000);", "Atomics")]
    [InlineData("let x = BigInt(3); for (let i = 0; i < 40; i++) x = x * x; x.toString();", "BigInt")]
    [InlineData("const a = new BigInt64Array(1); a[0];", "BigInt64Array")]
    [InlineData("new DataView(new ArrayBuffer(8)).getBigInt64(0);", "getBigInt64")]
    [InlineData("new WeakRef({});", "WeakRef")]
    [InlineData("new ShadowRealm();", "ShadowRealm")]
    [InlineData("Temporal.Now.instant().epochNanoseconds;", "Temporal")]
    public async Task WhatNoLimitCanInterrupt_IsNotThere(string body, string what)
    {
        var policy = Compile($"export function onRequest(req) {{ {body} }}");
        var watch = Stopwatch.StartNew();
        var (outcome, _) = await Run(policy);
        Assert.Equal(PolicyOutcomeKind.Failed, outcome.Kind);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1.5), $"{what}: {watch.Elapsed}");
    }

    [Theory]
    [InlineData("export function onRequest(req) { return 10n ** 100000n; }")]
    [InlineData("export function onRequest(req) { const x = 1n; }")]
    public void BigIntLiterals_DoNotCompile(string code)
    {
        Assert.Null(CompiledPolicy.Compile("bigint.js", code, 1, PolicyMode.FailClosed, CompiledPolicyTests.TestLimits, out var error));
        Assert.Contains("BigInt is not available", error, StringComparison.Ordinal);
        Assert.StartsWith("bigint.js:1:", error, StringComparison.Ordinal);
    }

    // Each allocated hundreds of MB to GB before the 32 MB limit tripped (or never tripped); now the
    // step is refused before it allocates, or stopped within about twice the limit.
    [Theory]
    [InlineData("'x'.repeat(2 ** 28);")]
    [InlineData("'ab'.repeat(2 ** 27);")]
    [InlineData("'x'.padEnd(2 ** 28);")]
    [InlineData("'x'.padStart(2 ** 28, 'yz');")]
    [InlineData("'x'.repeat(1e6).replaceAll('x', 'y'.repeat(1000));")]
    [InlineData("'x'.repeat(1e6).replace(/x/g, 'y'.repeat(1000));")]
    [InlineData("'x'.repeat(1e5).replace(/x/g, '$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$&$');")]
    [InlineData("new Array(2 ** 20).join('x'.repeat(1000));")]
    [InlineData("const big = 'x'.repeat(2 ** 22); new Array(1000).fill(big).join('');")]
    [InlineData("const big = 'x'.repeat(2 ** 22); JSON.stringify(new Array(1000).fill(big));")]
    [InlineData("const big = 'x'.repeat(2 ** 22); ''.concat(...new Array(1000).fill(big));")]
    [InlineData("new ArrayBuffer(2 ** 30);")]
    [InlineData("new ArrayBuffer(8, { maxByteLength: 2 ** 30 });")]
    [InlineData("new Uint8Array(2 ** 30);")]
    [InlineData("new Float64Array({ length: 2 ** 27 });")]
    [InlineData("new (new Uint8Array(1).constructor)(2 ** 30);")]
    [InlineData("Uint8Array.from({ length: 2 ** 30 });")]
    [InlineData("new Array(2 ** 30).fill(0);")]
    [InlineData("Array.from({ length: 2 ** 28 });")]
    [InlineData("let s = 'x'; for (;;) s += s;")]
    [InlineData("const big = 'x'.repeat(2 ** 22); JSON.stringify(new Array(1000).fill(big), null, 2);")]
    [InlineData("const big = 'x'.repeat(2 ** 22); JSON.stringify({ a: big, b: big, c: big, d: big, e: big, f: big, g: big, h: big, i: big, j: big });")]
    [InlineData("const big = 'x'.repeat(2 ** 22); big.concat(big, big, big, big, big, big, big, big, big);")]
    public async Task Amplifying_Allocation_IsBoundedAndRefused(string body)
    {
        var policy = Compile($"export function onRequest(req) {{ {body} }}");
        GC.Collect();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var (outcome, _) = await Run(policy);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.Equal(PolicyOutcomeKind.Failed, outcome.Kind);
        Assert.True(outcome.LimitHit, outcome.Message);
        Assert.True(allocated < 3 * MemoryLimit, $"allocated {allocated >> 20} MB for a {MemoryLimit >> 20} MB limit: {outcome.Message}");
    }

    [Fact]
    public async Task JsonStringify_KeepsItsMeaning_UnderTheGuard()
    {
        var policy = Compile("""
            export function onRequest(req) {
              const v = { b: 1, a: [1, 'x', { c: null, d: undefined }], t: { toJSON() { return 'T'; } } };
              req.out = [JSON.stringify(v), JSON.stringify(v, ['a', 'b']), JSON.stringify(v, (k, x) => (k === 'b' ? 2 : x)), JSON.stringify(v, null, 1),
                JSON.stringify('s'), JSON.stringify(undefined) === undefined];
              return req;
            }
            """);
        var (outcome, output) = await Run(policy);
        Assert.Equal(PolicyOutcomeKind.Changed, outcome.Kind);
        var result = JsonDocument.Parse(output).RootElement.GetProperty("out");
        Assert.Equal("""{"b":1,"a":[1,"x",{"c":null}],"t":"T"}""", result[0].GetString());
        Assert.Equal("""{"a":[1,"x",{}],"b":1}""", result[1].GetString());
        Assert.Equal("""{"b":2,"a":[1,"x",{"c":null}],"t":"T"}""", result[2].GetString());
        Assert.Equal("{\n \"b\": 1,\n \"a\": [\n  1,\n  \"x\",\n  {\n   \"c\": null\n  }\n ],\n \"t\": \"T\"\n}", result[3].GetString());
        Assert.Equal("\"s\"", result[4].GetString());
        Assert.True(result[5].GetBoolean());
    }

    [Fact]
    public async Task WithinTheLimit_TheGuardedBuiltinsStillWork()
    {
        var policy = Compile("""
            export function onRequest(req) {
              const s = 'ab'.repeat(3) + 'x'.padStart(3, '-') + 'x'.padEnd(2, '.');
              const r = 'a.b.c'.replaceAll('.', '$&$&') + 'a1b2'.replace(/\d/g, '[$&]') + 'aaa'.replace('a', 'b');
              const b = new Uint8Array([1, 2, 3]).length + new ArrayBuffer(16).byteLength + Float64Array.from([1, 2]).length
                + new Uint8Array(new ArrayBuffer(4)).length + new Int16Array({ length: 2 }).length;
              req.out = [s, r, b, new Uint8Array(2).constructor === Uint8Array, [1, 2].join('-')];
              return req;
            }
            """);
        var (outcome, output) = await Run(policy);
        Assert.Equal(PolicyOutcomeKind.Changed, outcome.Kind);
        var result = JsonDocument.Parse(output).RootElement.GetProperty("out");
        Assert.Equal("ababab--xx.", result[0].GetString());
        Assert.Equal("a..b..c" + "a[1]b[2]" + "baa", result[1].GetString());
        Assert.Equal(3 + 16 + 2 + 4 + 2, result[2].GetInt32());
        Assert.True(result[3].GetBoolean());
        Assert.Equal("1-2", result[4].GetString());
    }

    // Engines are pooled: before the lockdown, what one call left in the realm was there for the next
    // call, from any key.
    [Theory]
    [InlineData("globalThis.leak = ctx.keyId;", "globalThis.leak")]
    [InlineData("Object.prototype.leak = ctx.keyId;", "({}).leak")]
    [InlineData("Array.prototype.leak = ctx.keyId;", "[].leak")]
    [InlineData("String.prototype.trim = () => ctx.keyId;", "' x '.trim() === 'x' ? undefined : ' x '.trim()")]
    [InlineData("JSON.parse = () => ctx.keyId;", "JSON.parse('1') === 1 ? undefined : JSON.parse('1')")]
    [InlineData("gateway.redact = () => ctx.keyId;", "gateway.redact('x') === 'x' ? undefined : gateway.redact('x')")]
    [InlineData("Object.getPrototypeOf(function* () {}).leak = ctx.keyId;", "Object.getPrototypeOf(function* () {}).leak")]
    [InlineData("Object.getPrototypeOf([][Symbol.iterator]()).leak = ctx.keyId;", "Object.getPrototypeOf([][Symbol.iterator]()).leak")]
    [InlineData("Object.setPrototypeOf(Object.prototype, { leak: ctx.keyId });", "({}).leak")]
    [InlineData("settings.leak = ctx.keyId;", "settings.leak")]
    [InlineData("settings.list.push(ctx.keyId);", "settings.list[0]")]
    [InlineData("pattern.leak = ctx.keyId;", "pattern.leak")]
    [InlineData("onRequest.leak = ctx.keyId;", "onRequest.leak")]
    public async Task NothingACallLeaves_ReachesTheNextCall_FromAnyKey(string write, string read)
    {
        var policy = Compile($$"""
            const settings = { list: [] };
            const pattern = /x/g;
            export function onRequest(req, ctx) {
              const seen = {{read}};
              try { {{write}} } catch (e) { if (!(e instanceof TypeError)) throw e; }
              req.seen = seen === undefined ? null : seen;
              return req;
            }
            """);
        for (int i = 0; i < 4; i++)
        {
            foreach (string key in new[] { "alice", "bob" })
            {
                var (outcome, output) = await Run(policy, key: key);
                Assert.Equal(PolicyOutcomeKind.Changed, outcome.Kind);
                Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(output).RootElement.GetProperty("seen").ValueKind);
            }
        }
    }

    [Fact]
    public async Task StateHiddenInAClosure_NeverCrossesKeys()
    {
        var policy = Compile("""
            const next = (() => { const box = { n: 0 }; return () => ++box.n; })();
            export function onRequest(req, ctx) { req.n = next(); return req; }
            """);
        int N(string output) => JsonDocument.Parse(output).RootElement.GetProperty("n").GetInt32();
        int first = N((await Run(policy, key: "alice")).Output);
        Assert.True(N((await Run(policy, key: "alice")).Output) >= first);
        // Bob's calls never run in an engine Alice's did: his count starts afresh.
        Assert.Equal(1, N((await Run(policy, key: "bob")).Output));
    }

    [Theory]
    [InlineData("let n = 0; export function onRequest(req) { n++; }", "'let' outside a function")]
    [InlineData("var n = 0; export function onRequest(req) { n++; }", "'var' outside a function")]
    [InlineData("{ let n = 0; } export function onRequest(req) { }", "'let' outside a function")]
    [InlineData("const cache = new Map(); export function onRequest(req) { cache.set(req.model, req); }", "module-level Map")]
    [InlineData("const seen = new Set(); export function onRequest(req) { }", "module-level Set")]
    [InlineData("const when = new Date(); export function onRequest(req) { }", "module-level Date")]
    [InlineData("const bytes = new Uint8Array(4); export function onRequest(req) { }", "module-level")]
    [InlineData("const __gatewayHarden = 1; export function onRequest(req) { }", "reserved")]
    public void ModuleLevelState_DoesNotCompile(string code, string reason)
    {
        Assert.Null(CompiledPolicy.Compile("state.js", code, 1, PolicyMode.FailClosed, CompiledPolicyTests.TestLimits, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AllowedModuleShapes_StillCompileAndRun()
    {
        var policy = Compile("""
            const terms = ['a', 'b'];
            const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
            const pattern = new RegExp(terms.map(escape).join('|'), 'gi');
            const [first, { nested }] = [1, { nested: 2 }];
            function helper(x) { let local = x; local++; return local; }
            class Box { constructor(v) { this.v = v; } }
            export default { kind: 'config' };
            export function onRequest(req) {
              req.out = [req.messages[0].content.replace(pattern, '*'), first + nested, helper(1), new Box(3).v, Object.isFrozen(terms)];
              for (let i = 0; i < 2; i++) req.out.push(i);
              return req;
            }
            """);
        var (outcome, output) = await Run(policy, """{"model":"m","messages":[{"role":"user","content":"abc"}]}""");
        Assert.Equal(PolicyOutcomeKind.Changed, outcome.Kind);
        Assert.Equal("""["**c",3,2,3,true,0,1]""", JsonDocument.Parse(output).RootElement.GetProperty("out").GetRawText());
    }

    // The gateway accepts JSON nested 256 deep; a policy can read all of it. Deeper than that (an
    // answer, which the gateway does not inspect first) is not the policy's failure but the input's.
    [Fact]
    public async Task JsonAtTheGatewaysDepth_IsReadable_DeeperIsUnreadable()
    {
        var policy = Compile("export function onRequest(req) { req.read = true; return req; }", PolicyMode.FailOpen);
        string Nested(int depth) => """{"model":"m","messages":[{"role":"user","content":"x"}],"schema":""" + new string('[', depth - 2) + new string(']', depth - 2) + "}";
        Assert.Null(Gateway.Core.Json.RequestInspector.Inspect(Encoding.UTF8.GetBytes(Nested(Gateway.Core.Json.RequestInspector.MaxDepth)),
            Gateway.Core.Json.RequestKind.ChatCompletions, out _));
        var (outcome, _) = await Run(policy, Nested(Gateway.Core.Json.RequestInspector.MaxDepth));
        Assert.Equal(PolicyOutcomeKind.Changed, outcome.Kind);
        var (deeper, _) = await Run(policy, Nested(Gateway.Core.Json.RequestInspector.MaxDepth + 50));
        Assert.Equal(PolicyOutcomeKind.Unreadable, deeper.Kind);
    }
}

[CollectionDefinition(nameof(SandboxCollection), DisableParallelization = true)]
public sealed class SandboxCollection;
