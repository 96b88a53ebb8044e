using System.Buffers;
using BenchmarkDotNet.Attributes;
using Gateway.Policies;

namespace Gateway.Benchmarks;

/// <summary>
/// What one policy hook costs on the bench harness's request: the JSON into the engine, the call,
/// the JSON out. Engines are pooled, so this is the steady state a request pays per bound policy.
/// </summary>
[MemoryDiagnoser]
public class PolicyBenchmarks
{
    private readonly ArrayBufferWriter<byte> _output = new(8192);
    // As the gateway builds it for a direct provider/model call: one candidate.
    private readonly PolicyContext _context = new("openai/gpt-4o-mini", "bench") { Candidates = [new PolicyCandidate("openai", "gpt-4o-mini", 1)] };
    private byte[] _request = [];
    private CompiledPolicy _empty = null!;
    private CompiledPolicy _passThrough = null!;
    private CompiledPolicy _redactor = null!;
    private CompiledPolicy _systemPrompt = null!;
    private CompiledPolicy _builtinPii = null!;
    private CompiledPolicy _responseFilter = null!;
    // One streamed text delta, as the harness's mock sends them.
    private readonly byte[] _chunk = """{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":" quick brown"},"finish_reason":null}]}"""u8.ToArray();
    private PolicySet _unbound = null!;
    private readonly PolicyRunner _runner = new(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, workers: 1);
    private readonly Func<int, BenchBuffer> _rent = size => new BenchBuffer(size);

    [GlobalCleanup]
    public void Cleanup() => _runner.Dispose();

    private sealed class BenchBuffer(int size) : IBufferWriter<byte>, IWrittenMemory, IDisposable
    {
        private readonly ArrayBufferWriter<byte> _inner = new(size);
        public ReadOnlyMemory<byte> WrittenMemory => _inner.WrittenMemory;
        public void Advance(int count) => _inner.Advance(count);
        public Memory<byte> GetMemory(int sizeHint = 0) => _inner.GetMemory(sizeHint);
        public Span<byte> GetSpan(int sizeHint = 0) => _inner.GetSpan(sizeHint);
        public void Dispose() { }
    }

    [GlobalSetup]
    public void Setup()
    {
        _request = BenchData.ChatRequest;
        _empty = Compile("empty", "export function onRequest(req, ctx) { }");
        _passThrough = Compile("return-req", "export function onRequest(req, ctx) { return req; }");
        _redactor = Compile("pii-redaction", File.ReadAllText(Path.Combine(FindRoot(), "policies", "pii-redaction.js")));
        _systemPrompt = Compile("system-prompt", File.ReadAllText(Path.Combine(FindRoot(), "policies", "system-prompt.js")));
        _builtinPii = Gateway.Policies.Pii.PiiRedactionPolicy.Compile(
            new Gateway.Core.Config.PolicyConfig("pii", "builtin:pii-redaction", false, ["*"], ["*"], new Gateway.Core.Config.PolicyLimitsConfig()),
            1, PolicyMode.FailClosed, PolicyLimits.Default);
        _responseFilter = Compile("response-filter", File.ReadAllText(Path.Combine(FindRoot(), "policies", "response-filter.js")));
        _unbound = PolicySet.Empty;
    }

    private static CompiledPolicy Compile(string name, string code) =>
        CompiledPolicy.Compile(name, code, 1, PolicyMode.FailClosed, PolicyLimits.Default, out var error) ?? throw new InvalidOperationException(error);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Gateway.sln"))) return dir.FullName;
        throw new InvalidOperationException("Gateway.sln not found");
    }

    /// <summary>A request no policy binds to: what every request pays when policies are configured elsewhere.</summary>
    [Benchmark(Baseline = true)]
    public bool NoPolicyBound() => _unbound.Select("openai/gpt-4o-mini", "bench").IsEmpty;

    [Benchmark]
    public PolicyOutcomeKind EmptyHook()
    {
        _output.ResetWrittenCount();
        return _empty.OnRequest(_request, _context, _output).Kind;
    }

    [Benchmark]
    public PolicyOutcomeKind ReturnRequest()
    {
        _output.ResetWrittenCount();
        return _passThrough.OnRequest(_request, _context, _output).Kind;
    }

    /// <summary>
    /// The same hook as the gateway runs it: handed to a policy worker (a thread with a known stack
    /// and an outer deadline) and awaited; the difference to <see cref="EmptyHook"/> is the hop.
    /// </summary>
    [Benchmark]
    public async Task<PolicyOutcomeKind> EmptyHookOnWorker()
    {
        var (outcome, output) = await _runner.CallAsync(_empty, PolicyHooks.OnRequest, _request, _context, _rent).ConfigureAwait(false);
        output?.Dispose();
        return outcome.Kind;
    }

    [Benchmark]
    public PolicyOutcomeKind PiiRedactor()
    {
        _output.ResetWrittenCount();
        return _redactor.OnRequest(_request, new PolicyContext("openai/gpt-4o-mini", "bench"), _output).Kind;
    }

    /// <summary>policies/system-prompt.js: a JS policy that rewrites the messages (the performance issue's example).</summary>
    [Benchmark]
    public PolicyOutcomeKind SystemPrompt()
    {
        _output.ResetWrittenCount();
        return _systemPrompt.OnRequest(_request, _context, _output).Kind;
    }

    [Benchmark]
    public async Task<PolicyOutcomeKind> SystemPromptOnWorker()
    {
        var (outcome, output) = await _runner.CallAsync(_systemPrompt, PolicyHooks.OnRequest, _request, _context, _rent).ConfigureAwait(false);
        output?.Dispose();
        return outcome.Kind;
    }

    /// <summary>The built-in PII redaction as the gateway runs it: C# over the request's bytes, on the caller's thread.</summary>
    [Benchmark]
    public async Task<PolicyOutcomeKind> BuiltinPii()
    {
        var (outcome, output) = await _runner.CallAsync(_builtinPii, PolicyHooks.OnRequest, _request, new PolicyContext("openai/gpt-4o-mini", "bench"), _rent).ConfigureAwait(false);
        output?.Dispose();
        return outcome.Kind;
    }

    /// <summary>policies/response-filter.js's onChunk on one text delta: what a stream pays per frame for a JS chunk policy.</summary>
    [Benchmark]
    public PolicyOutcomeKind ResponseFilterChunk()
    {
        _output.ResetWrittenCount();
        return _responseFilter.OnChunk(_chunk, _context, _output).Kind;
    }

    [Benchmark]
    public async Task<PolicyOutcomeKind> ResponseFilterChunkOnWorker()
    {
        var (outcome, output) = await _runner.CallAsync(_responseFilter, PolicyHooks.OnChunk, _chunk, _context, _rent).ConfigureAwait(false);
        output?.Dispose();
        return outcome.Kind;
    }
}
