using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Gateway.Policies.Tests;

public class CompiledPolicyTests
{
    private const string Request = """{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"mail bob.smith@example.com please"}]}""";
    private static readonly PolicyContext Ctx = new("openai/gpt-4o-mini", KeyId: "k1");

    // Generous wall time: a first call under JIT on a busy test machine can take far longer than in the native binary.
    internal static readonly PolicyLimits TestLimits = PolicyLimits.Default with { Timeout = TimeSpan.FromSeconds(2) };

    private static CompiledPolicy Compile(string code, PolicyLimits? limits = null)
    {
        var policy = CompiledPolicy.Compile("test.js", code, 1, PolicyMode.FailClosed, limits ?? TestLimits, out var error);
        Assert.True(policy is not null, error);
        return policy;
    }

    private static (PolicyOutcome Outcome, string Output) Run(CompiledPolicy policy, string request = Request)
    {
        var output = new ArrayBufferWriter<byte>();
        var outcome = policy.OnRequest(Encoding.UTF8.GetBytes(request), Ctx, output);
        return (outcome, Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Fact]
    public void OnRequest_ChangedObject_IsWrittenAsJson()
    {
        var policy = Compile("""
            export function onRequest(req, ctx) {
              for (const m of req.messages) m.content = m.content.replace(/[\w.+-]+@[\w-]+\.[\w.]+/g, '[email]');
              req.metadata = { key: ctx.keyId, model: ctx.model };
              return req;
            }
            """);
        Assert.Equal(PolicyHooks.OnRequest, policy.Hooks);
        var (outcome, output) = Run(policy);
        Assert.Equal(PolicyOutcomeKind.Changed, outcome.Kind);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal("mail [email] please", root.GetProperty("messages")[0].GetProperty("content").GetString());
        Assert.Equal("k1", root.GetProperty("metadata").GetProperty("key").GetString());
    }

    [Fact]
    public void Ctx_LazyMembers_ReadWriteEnumerateAndStringifyLikeData()
    {
        var policy = Compile("""
            export function onRequest(req, ctx) {
              const keys = Object.keys(ctx).join(',');
              const whole = JSON.parse(JSON.stringify(ctx));
              const first = ctx.candidates;
              ctx.headers = 'replaced';
              req.seen = { keys, whole, same: first === ctx.candidates, headers: ctx.headers, tag: ctx.candidates[0].tags[0], meta: ctx.metadata.team,
                           data: 'value' in Object.getOwnPropertyDescriptor(ctx, 'metadata') };
              return req;
            }
            """);
        var context = new PolicyContext("openai/gpt-4o-mini", KeyId: "k1")
        {
            Metadata = new Dictionary<string, string> { ["team"] = "search" },
            Candidates = [new PolicyCandidate("openai", "gpt-4o-mini", 3) { Tags = ["eu"] }],
        };
        var output = new ArrayBufferWriter<byte>();
        Assert.Equal(PolicyOutcomeKind.Changed, policy.OnRequest(Encoding.UTF8.GetBytes(Request), context, output).Kind);
        var seen = JsonDocument.Parse(output.WrittenMemory).RootElement.GetProperty("seen");
        Assert.Equal("model,operation,keyId,tenant,metadata,headers,candidates", seen.GetProperty("keys").GetString());
        Assert.Equal(3, seen.GetProperty("whole").GetProperty("candidates")[0].GetProperty("weight").GetInt32());
        Assert.Equal("search", seen.GetProperty("whole").GetProperty("metadata").GetProperty("team").GetString());
        Assert.True(seen.GetProperty("same").GetBoolean());
        Assert.Equal("replaced", seen.GetProperty("headers").GetString());
        Assert.Equal("eu", seen.GetProperty("tag").GetString());
        Assert.Equal("search", seen.GetProperty("meta").GetString());
        Assert.True(seen.GetProperty("data").GetBoolean());
    }

    [Fact]
    public void Ctx_LazyMember_WrittenBeforeItIsRead_KeepsTheWrite_AndHasNoAccessorToTake()
    {
        var policy = Compile("""
            export function onRequest(req, ctx) {
              const descriptor = Object.getOwnPropertyDescriptor(ctx, 'candidates');
              ctx.metadata = 'mine';
              req.other = { get: descriptor.get === undefined, writable: descriptor.writable, metadata: ctx.metadata };
              return req;
            }
            """);
        var (_, output) = Run(policy);
        var other = JsonDocument.Parse(output).RootElement.GetProperty("other");
        Assert.True(other.GetProperty("get").GetBoolean());
        Assert.True(other.GetProperty("writable").GetBoolean());
        Assert.Equal("mine", other.GetProperty("metadata").GetString());
    }

    [Fact]
    public void OnRequest_NoReturn_IsUnchanged()
    {
        var (outcome, output) = Run(Compile("export function onRequest(req) { }"));
        Assert.Equal((PolicyOutcomeKind.Unchanged, ""), (outcome.Kind, output));
    }

    [Fact]
    public void OnRequest_Reject_CarriesStatusAndMessage()
    {
        var (outcome, _) = Run(Compile("export function onRequest(req) { return { reject: { status: 422, message: 'no emails' } }; }"));
        Assert.Equal((PolicyOutcomeKind.Reject, 422, "no emails"), (outcome.Kind, outcome.Status, outcome.Message));
    }

    [Fact]
    public void OnRequest_Respond_WritesTheAnswer()
    {
        var (outcome, output) = Run(Compile("export function onRequest(req) { return { respond: { id: 'x', choices: [] } }; }"));
        Assert.Equal(PolicyOutcomeKind.Respond, outcome.Kind);
        Assert.Equal("""{"id":"x","choices":[]}""", output);
    }

    [Fact]
    public void OnRequest_ReturnsAString_Fails()
    {
        var (outcome, _) = Run(Compile("export function onRequest(req) { return 'nope'; }"));
        Assert.Equal((PolicyOutcomeKind.Failed, false), (outcome.Kind, outcome.LimitHit));
    }

    [Fact]
    public void OnRequest_Throws_FailsWithTheLine()
    {
        var (outcome, _) = Run(Compile("export function onRequest(req) {\n  throw new Error('boom');\n}"));
        Assert.Equal(PolicyOutcomeKind.Failed, outcome.Kind);
        Assert.Contains("boom", outcome.Message, StringComparison.Ordinal);
        Assert.Contains("line 2", outcome.Message, StringComparison.Ordinal);
    }

    // Each runaway below must end as a limit hit, quickly, and leave the policy able to serve the next call.
    [Theory]
    [InlineData("for (;;) {}", "limit reached")] // statements or time, whichever comes first
    [InlineData("function f(n) { return f(n + 1) + 1; } f(0);", "recursion limit")]
    [InlineData("const a = []; for (;;) a.push('x'.repeat(1 << 20) + a.length);", "memory limit")]
    [InlineData("const s = 'x'.repeat(2 ** 28); req.s = s;", "memory limit")]
    [InlineData("/^(a+)+$/.test('a'.repeat(40) + 'b');", "regular expression time limit")]
    public void OnRequest_Runaway_HitsItsLimitAndThePolicyKeepsServing(string body, string limit)
    {
        var policy = Compile($$"""
            export function onRequest(req) {
              if (req.messages[0].content === 'runaway') { {{body}} }
              req.ok = true;
              return req;
            }
            """);
        var started = Stopwatch.StartNew();
        var (outcome, _) = Run(policy, """{"model":"m","messages":[{"role":"user","content":"runaway"}]}""");
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(5), $"took {started.Elapsed}");
        Assert.Equal((PolicyOutcomeKind.Failed, true), (outcome.Kind, outcome.LimitHit));
        Assert.Contains(limit, outcome.Message, StringComparison.Ordinal);

        var (next, output) = Run(policy);
        Assert.Equal(PolicyOutcomeKind.Changed, next.Kind);
        Assert.Contains("\"ok\":true", output, StringComparison.Ordinal);
    }

    [Fact]
    public void OnRequest_LoopUnderAStatementBudget_IsStoppedByTheWallClock()
    {
        var policy = Compile("export function onRequest(req) { for (;;) {} }", PolicyLimits.Default with { MaxStatements = int.MaxValue - 1, Timeout = TimeSpan.FromMilliseconds(100) });
        var (outcome, _) = Run(policy);
        Assert.Equal((PolicyOutcomeKind.Failed, true), (outcome.Kind, outcome.LimitHit));
        Assert.Contains("time limit", outcome.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("return System.IO.File.ReadAllText('/etc/passwd');")]
    [InlineData("return importNamespace('System.IO');")]
    [InlineData("return eval('1 + 1');")]
    [InlineData("return new Function('return 1')();")]
    [InlineData("return setTimeout(() => {}, 1);")]
    [InlineData("return require('fs');")]
    public void OnRequest_ReachingOutsideTheSandbox_Fails(string body)
    {
        var (outcome, output) = Run(Compile($"export function onRequest(req) {{ {body} }}"));
        Assert.Equal((PolicyOutcomeKind.Failed, ""), (outcome.Kind, output));
    }

    [Fact]
    public void Compile_SyntaxError_SaysLineAndColumn()
    {
        var policy = CompiledPolicy.Compile("broken.js", "export function onRequest(req {\n  return req;\n}", 1, PolicyMode.FailClosed, PolicyLimits.Default, out var error);
        Assert.Null(policy);
        Assert.StartsWith("broken.js:1:", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Compile_ModuleWithoutHooks_IsAnError()
    {
        Assert.Null(CompiledPolicy.Compile("empty.js", "export const x = 1;", 1, PolicyMode.FailClosed, PolicyLimits.Default, out var error));
        Assert.Contains("exports none", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Compile_TopLevelLoop_IsStoppedByTheLimits()
    {
        Assert.Null(CompiledPolicy.Compile("loop.js", "for (;;) {}\nexport function onRequest(r) { return r; }", 1, PolicyMode.FailClosed, PolicyLimits.Default, out var error));
        Assert.Contains("limit", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OnRequest_ConcurrentCalls_EachGetsItsOwnEngine()
    {
        var policy = Compile("export function onRequest(req) { req.n = req.messages[0].content; return req; }");
        var results = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(() =>
            Run(policy, $$"""{"model":"m","messages":[{"role":"user","content":"{{i}}"}]}"""))));
        for (int i = 0; i < results.Length; i++)
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), JsonDocument.Parse(results[i].Output).RootElement.GetProperty("n").GetString());
    }
}
