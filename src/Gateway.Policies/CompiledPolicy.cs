using System.Buffers;
using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Jint;
using Jint.Native;
using Jint.Native.Function;
using Jint.Native.Json;
using Jint.Native.Object;
using Jint.Runtime;
using Jint.Runtime.Descriptors;
using Jint.Runtime.Interop;
using Gateway.Policies.Json;
using Gateway.Policies.Sandbox;

namespace Gateway.Policies;

/// <summary>
/// One version of one policy file: the module parsed once and shared, and a pool of engines that
/// each imported it (an engine is not thread-safe, and creating one costs far more than a call).
/// Immutable apart from the pool; a reload makes a new instance and in-flight calls finish on theirs.
/// </summary>
public sealed class CompiledPolicy
{
    private const string Specifier = "policy";
    private readonly Prepared<Acornima.Ast.Module> _module;
    private readonly INativePolicy? _native;
    // Engines that served a call, each kept for the key it served: an engine never serves two keys,
    // so nothing a call leaves behind in it (beyond what the lockdown freezes) can reach another key.
    private readonly Lock _poolGate = new();
    private readonly List<PolicyEngine> _pool = [];
    private readonly int _maxPooled = Math.Max(2, Environment.ProcessorCount * 2);

    private CompiledPolicy(string name, long version, PolicyMode mode, PolicyLimits limits, Prepared<Acornima.Ast.Module> module)
    {
        Name = name;
        Version = version;
        Mode = mode;
        Limits = limits;
        _module = module;
    }

    private CompiledPolicy(string name, long version, PolicyMode mode, PolicyLimits limits, INativePolicy native)
    {
        Name = name;
        Version = version;
        Mode = mode;
        Limits = limits;
        _native = native;
        Hooks = native.Hooks;
    }

    /// <summary>A built-in policy written in C#: bound, metered and failing by its mode like any other, with no engine.</summary>
    public static CompiledPolicy Native(string name, long version, PolicyMode mode, PolicyLimits limits, INativePolicy native) =>
        new(name, version, mode, limits, native);

    /// <summary>
    /// A C# policy runs on the caller's thread when its input is at most <see cref="PolicyRunner.InlineBytes"/>:
    /// no script, so nothing to give up on or overflow, and its cost is a few microseconds.
    /// </summary>
    public bool IsNative => _native is not null;

    public string Name { get; }
    public long Version { get; }

    /// <summary>The request headers the operator lets this policy see.</summary>
    public IReadOnlyList<string> AllowedHeaders { get; private init; } = [];
    public PolicyMode Mode { get; }
    public PolicyLimits Limits { get; }
    public PolicyHooks Hooks { get; private set; }

    /// <summary>Parses the module and evaluates it once (top-level code runs under the same limits).</summary>
    /// <returns>The policy, or null with <paramref name="error"/> saying why, with line and column when the parser knows them.</returns>
    /// <param name="source">The file name errors are located in (the policy's name when null).</param>
    /// <param name="allowedHeaders">Request headers this policy may read in <c>ctx.headers</c> (lower case); none when null.</param>
    public static CompiledPolicy? Compile(string name, string code, long version, PolicyMode mode, PolicyLimits limits, out string? error, string? source = null,
        IReadOnlyList<string>? allowedHeaders = null)
    {
        error = null;
        source ??= name;
        Prepared<Acornima.Ast.Module> module;
        try
        {
            module = Engine.PrepareModule(code, source);
            var names = new List<string>();
            if (PolicySandbox.Check(module.Program!, source, names) is { } refused)
            {
                error = refused;
                return null;
            }
            // The footer freezes the module's own top-level values once it has run (appended, so every
            // line and column the policy's errors name stays where it was).
            if (names.Count > 0) module = Engine.PrepareModule(code + PolicySandbox.Footer(names), source);
        }
        catch (Exception ex) when (ex is ScriptPreparationException or Acornima.ParseErrorException or JavaScriptException)
        {
            error = (ex.InnerException ?? ex) is Acornima.ParseErrorException parse
                ? $"{source}:{parse.LineNumber}:{parse.Column}: {parse.Description}"
                : ex.Message;
            return null;
        }
        var policy = new CompiledPolicy(name, version, mode, limits, module) { AllowedHeaders = allowedHeaders ?? [] };
        try
        {
            var engine = policy.CreateEngine(null);
            policy.Hooks = engine.Hooks;
            policy.Return(engine);
        }
        catch (Exception ex) when (PolicyEngine.IsScriptFailure(ex))
        {
            error = $"{source}: evaluating the module failed: {PolicyEngine.Describe(ex)}";
            return null;
        }
        if (policy.Hooks == PolicyHooks.None)
        {
            error = $"{source}: exports none of onRequest, route, onResponse, onChunk";
            return null;
        }
        return policy;
    }

    /// <summary>Runs <c>onRequest(req, ctx)</c> on the request's JSON; a changed request or a respond body is written to <paramref name="output"/>.</summary>
    public PolicyOutcome OnRequest(ReadOnlySpan<byte> requestJson, PolicyContext context, IBufferWriter<byte> output) =>
        Call(PolicyHooks.OnRequest, requestJson, context, output);

    /// <summary>Runs <c>onResponse(res, ctx)</c> on a whole answer's JSON; a changed answer is written to <paramref name="output"/>.</summary>
    public PolicyOutcome OnResponse(ReadOnlySpan<byte> responseJson, PolicyContext context, IBufferWriter<byte> output) =>
        Call(PolicyHooks.OnResponse, responseJson, context, output);

    /// <summary>
    /// Runs <c>route(req, ctx)</c>. A returned string names the model (an alias or
    /// <c>provider/model</c>) to send to: the request with that model is written to <paramref name="output"/>.
    /// </summary>
    public PolicyOutcome Route(ReadOnlySpan<byte> requestJson, PolicyContext context, IBufferWriter<byte> output) =>
        Call(PolicyHooks.Route, requestJson, context, output);

    /// <summary>
    /// Runs <c>onChunk(chunk, ctx)</c> on one streamed <c>chat.completion.chunk</c>. It returns the
    /// chunk, nothing, <c>{ reject }</c>, or <c>{ chunk, hold: n }</c> to hold the last n characters of
    /// the content back until the next chunk (a secret split over two chunks is seen whole).
    /// </summary>
    public PolicyOutcome OnChunk(ReadOnlySpan<byte> chunkJson, PolicyContext context, IBufferWriter<byte> output) =>
        Call(PolicyHooks.OnChunk, chunkJson, context, output);

    /// <summary>
    /// Runs one hook on the calling thread. The gateway calls it through <see cref="PolicyRunner"/>,
    /// which gives it a thread with a known stack and gives up on it at its deadline; <paramref name="site"/>
    /// is that runner's view of the call.
    /// </summary>
    internal PolicyOutcome Call(PolicyHooks hook, ReadOnlySpan<byte> json, PolicyContext context, IBufferWriter<byte> output, IPolicyCallSite? site = null)
    {
        if ((Hooks & hook) == 0) return PolicyOutcome.Unchanged;
        if (_native is not null) return CallNative(hook, json, context, output);
        var engine = Rent(context.KeyId);
        site?.Started(engine.Budget);
        var outcome = engine.CallObjectHook(engine.Function(hook)!, json, context, output, hook, site);
        // Settled first: from here the call can no longer be given up on, so an engine that goes back
        // to the pool is never one the runner has just told to stop.
        bool delivered = site?.Finish() ?? true;
        // An engine that hit a limit may hold a half-built heap, and one given up on may still be
        // running: either is dropped, not reused.
        if (delivered && !outcome.LimitHit && outcome.Kind != PolicyOutcomeKind.Unreadable) Return(engine);
        return outcome;
    }

    private PolicyOutcome CallNative(PolicyHooks hook, ReadOnlySpan<byte> json, PolicyContext context, IBufferWriter<byte> output)
    {
        try
        {
            return _native!.Call(hook, json, context, output);
        }
        catch (RegexMatchTimeoutException)
        {
            return PolicyOutcome.Failed($"policy '{Name}': regular expression time limit reached", true);
        }
    }

    private PolicyEngine Rent(string? keyId)
    {
        lock (_poolGate)
        {
            for (int i = _pool.Count - 1; i >= 0; i--)
            {
                if (!string.Equals(_pool[i].KeyId, keyId, StringComparison.Ordinal)) continue;
                var engine = _pool[i];
                _pool.RemoveAt(i);
                return engine;
            }
        }
        return CreateEngine(keyId);
    }

    private void Return(PolicyEngine engine)
    {
        lock (_poolGate)
        {
            // Full: the engine idle longest (first in the list) makes room.
            if (_pool.Count >= _maxPooled) _pool.RemoveAt(0);
            _pool.Add(engine);
        }
    }

    private PolicyEngine CreateEngine(string? keyId)
    {
        var budget = new CallBudget(Limits.MaxMemoryBytes, Limits.Timeout) { Setup = true };
        var engine = new Engine(options =>
        {
            options
                .Strict()
                .DisableStringCompilation() // no eval, no Function constructor
                .LimitRecursion(Limits.MaxRecursionDepth)
                .MaxStatements(Limits.MaxStatements)
                .LimitMemory(Limits.MaxMemoryBytes)
                .RegexTimeoutInterval(Limits.RegexTimeout)
                // No array longer than the memory limit could hold at 8 bytes an element.
                .MaxArraySize((uint)Math.Clamp(Limits.MaxMemoryBytes / 8, 1024, uint.MaxValue - 1))
                // The gateway accepts JSON nested this deep; a policy must be able to read what it accepts.
                .MaxJsonParseDepth(Limits.MaxJsonDepth)
                .Constraint(budget);
            // Native recursion (JSON.stringify, join, flat, proxies, prototype chains) checks the
            // remaining stack and throws a RangeError, instead of overflowing it and ending the process.
            options.Constraints.StackOverflowGuard = true;
        });
        var host = new PolicyEngine(engine, Name, AllowedHeaders, budget, keyId, Limits.MaxJsonDepth);
        var harden = PolicySandbox.Apply(engine, budget);
        var module = _module;
        engine.Modules.Add(Specifier, builder => builder.AddModule(in module));
        var exports = engine.Modules.Import(Specifier);
        foreach (var key in exports.GetOwnPropertyKeys())
            engine.Call(harden, JsValue.Undefined, [exports.Get(key)]);
        host.Bind(exports);
        budget.Setup = false;
        return host;
    }
}

/// <summary>An engine with the policy module imported and its hook functions looked up once.</summary>
internal sealed class PolicyEngine
{
    private readonly Engine engine;
    private readonly string policyName;
    private readonly IReadOnlyList<string> allowedHeaders;
    private Function? onRequest, route, onResponse, onChunk;

    /// <summary>The request the current call is for: what the host helpers (its PII vault) act on.</summary>
    private PolicyContext? _context;

    // One of each per engine, like the engine itself used by one call at a time: a parser's intern
    // tables alone are 12 KB, which a parser made per call allocated anew every time.
    private readonly JsonProjection _projection;
    private readonly PolicyJsonWriter _writer;

    /// <summary>The current call's <c>ctx</c>: the only object whose lazy members are filled in.</summary>
    private JsObject? _ctx;

    /// <summary>
    /// <c>ctx</c>: four plain values, and three members that cost objects to build, each made on first
    /// read (most hooks read none of them). One layout for every engine: its factories reach the engine
    /// through the object's state.
    /// </summary>
    private static readonly JsObjectLayout ContextLayout = JsObjectLayout.CreateBuilder()
        .Add("model").Add("operation").Add("keyId").Add("tenant")
        .AddLazy("metadata", static (ctx, state) => ((PolicyEngine)state!).Member(ctx, static (host, c) => host.Strings(c.Metadata, null)))
        .AddLazy("headers", static (ctx, state) => ((PolicyEngine)state!).Member(ctx, static (host, c) => host.Strings(c.Headers, host.allowedHeaders)))
        .AddLazy("candidates", static (ctx, state) => ((PolicyEngine)state!).Member(ctx, static (host, c) => host.Candidates(c)))
        .Build();

    private static readonly JsString Chat = JsString.Create("chat"), Embeddings = JsString.Create("embeddings");

    public PolicyEngine(Engine engine, string policyName, IReadOnlyList<string> allowedHeaders, CallBudget budget, string? keyId, int maxJsonDepth)
    {
        this.engine = engine;
        this.policyName = policyName;
        this.allowedHeaders = allowedHeaders;
        Budget = budget;
        KeyId = keyId;
        var parser = new JsonParser(engine);
        _projection = new JsonProjection(engine, parser, maxJsonDepth);
        _writer = new PolicyJsonWriter(engine, new JsonSerializer(engine), _projection, maxJsonDepth);
        // A call the gateway gave up on no longer reaches its request's vault.
        PolicyHelpers.Install(engine, () => budget.Abandoned ? null : _context);
    }

    public CallBudget Budget { get; }

    /// <summary>The only key whose calls this engine serves (null: calls without a key, and compiling).</summary>
    public string? KeyId { get; }

    public void Bind(ObjectInstance exports)
    {
        onRequest = exports.Get("onRequest") as Function;
        route = exports.Get("route") as Function;
        onResponse = exports.Get("onResponse") as Function;
        onChunk = exports.Get("onChunk") as Function;
    }

    public PolicyHooks Hooks =>
        (onRequest is null ? 0 : PolicyHooks.OnRequest) | (route is null ? 0 : PolicyHooks.Route)
        | (onResponse is null ? 0 : PolicyHooks.OnResponse) | (onChunk is null ? 0 : PolicyHooks.OnChunk);

    public Function? Function(PolicyHooks hook) => hook switch
    {
        PolicyHooks.OnRequest => onRequest,
        PolicyHooks.Route => route,
        PolicyHooks.OnResponse => onResponse,
        PolicyHooks.OnChunk => onChunk,
        _ => null,
    };

    /// <param name="kind">Route returns a model name (or nothing), not an object; OnChunk may wrap the chunk with a hold.</param>
    public PolicyOutcome CallObjectHook(Function hook, ReadOnlySpan<byte> json, PolicyContext context, IBufferWriter<byte> output, PolicyHooks kind,
        IPolicyCallSite? site)
    {
        _context = context;
        try
        {
            engine.Constraints.Reset();
            JsValue value;
            try
            {
                value = _projection.Project(json);
                Budget.Require(_projection.FullSize, $"reading the {Subject(kind)}");
            }
            catch (Exception ex) when (IsScriptFailure(ex))
            {
                // Not the policy's doing: what it was handed could not be made into a JS value (nested
                // deeper than the gateway accepts, or larger than the policy's memory).
                return PolicyOutcome.Unreadable($"policy '{policyName}' could not be shown the {Subject(kind)}: {Describe(ex)}");
            }
            finally
            {
                site?.InputRead();
            }
            var result = engine.Invoke(hook, value, Context(context));
            if (kind == PolicyHooks.OnChunk && result.IsObject() && LazyJsonObject.Read(result.AsObject(), "chunk") is ObjectInstance wrapped)
            {
                var hold = result.AsObject().Get("hold");
                var outcome = Interpret(wrapped, output);
                return hold.IsNumber() && hold.AsNumber() > 0 && outcome.Kind == PolicyOutcomeKind.Changed
                    ? outcome with { Hold = (int)Math.Min(hold.AsNumber(), int.MaxValue) } : outcome;
            }
            if (kind != PolicyHooks.Route) return Interpret(result, output);
            if (result.IsUndefined() || result.IsNull()) return PolicyOutcome.Unchanged;
            if (!result.IsString() || result.AsString().Length == 0)
                return PolicyOutcome.Failed($"policy '{policyName}': route returned {result.Type}, expected a model name", false);
            value.AsObject().Set("model", result);
            _writer.Write(value, output);
            return PolicyOutcome.Changed;
        }
        catch (Exception ex) when (IsScriptFailure(ex))
        {
            return PolicyOutcome.Failed($"policy '{policyName}': {Describe(ex)}", IsLimit(ex));
        }
        finally
        {
            _context = null;
            _ctx = null;
            _projection.Release();
        }
    }

    private PolicyOutcome Interpret(JsValue result, IBufferWriter<byte> output)
    {
        if (result.IsUndefined() || result.IsNull()) return PolicyOutcome.Unchanged;
        if (!result.IsObject() || result.IsArray())
            return PolicyOutcome.Failed($"policy '{policyName}': the hook returned {result.Type}, expected the object, {{ reject }} or {{ respond }}", false);
        var obj = result.AsObject();
        var reject = LazyJsonObject.Read(obj, "reject");
        if (!reject.IsUndefined())
        {
            int status = 403;
            string message = $"Rejected by policy '{policyName}'.";
            if (reject.IsObject())
            {
                var s = reject.AsObject().Get("status");
                if (s.IsNumber() && s.AsNumber() is >= 400 and <= 599) status = (int)s.AsNumber();
                var m = reject.AsObject().Get("message");
                if (m.IsString()) message = m.AsString();
            }
            else if (reject.IsString())
            {
                message = reject.AsString();
            }
            return PolicyOutcome.Reject(status, message);
        }
        var respond = LazyJsonObject.Read(obj, "respond");
        if (!respond.IsUndefined())
        {
            if (!respond.IsObject()) return PolicyOutcome.Failed($"policy '{policyName}': respond must be an object", false);
            _writer.Write(respond, output);
            return PolicyOutcome.Respond;
        }
        _writer.Write(result, output);
        return PolicyOutcome.Changed;
    }

    private JsObject Context(PolicyContext context)
    {
        var ctx = JsObject.Create(engine, ContextLayout,
        [
            JsString.Create(context.Model),
            context.Operation == PolicyOperation.Embeddings ? Embeddings : Chat,
            context.KeyId is null ? JsValue.Null : JsString.Create(context.KeyId),
            context.Tenant is null ? JsValue.Null : JsString.Create(context.Tenant),
            null, null, null,
        ], this);
        _ctx = ctx;
        return ctx;
    }

    /// <summary>
    /// A lazy member of <c>ctx</c>, built on its first read. Only the current call's <c>ctx</c> gets one:
    /// a <c>ctx</c> a policy kept past its call builds nothing from a later request.
    /// </summary>
    private JsValue Member(JsObject ctx, Func<PolicyEngine, PolicyContext, JsValue> build) =>
        ReferenceEquals(ctx, _ctx) && _context is { } context ? build(this, context) : JsValue.Undefined;

    /// <param name="only">When set, only these names (the headers the operator allowed this policy: one the request carries but the binding does not name is simply absent).</param>
    private JsObject Strings(IReadOnlyDictionary<string, string> values, IReadOnlyList<string>? only)
    {
        var result = new JsObject(engine);
        if (only is null)
        {
            foreach (var (name, value) in values) result.Set(name, value);
        }
        else
        {
            foreach (var name in only)
                if (values.TryGetValue(name, out var value)) result.Set(name, value);
        }
        return result;
    }

    private JsArray Candidates(PolicyContext context)
    {
        var candidates = new JsArray(engine);
        foreach (var candidate in context.Candidates)
        {
            var item = new JsObject(engine);
            item.Set("name", candidate.Provider + "/" + candidate.Model);
            item.Set("provider", candidate.Provider);
            item.Set("model", candidate.Model);
            item.Set("weight", candidate.Weight);
            item.Set("inputPrice", candidate.InputPrice);
            item.Set("outputPrice", candidate.OutputPrice);
            item.Set("latencyMs", candidate.LatencyMs);
            item.Set("open", candidate.Open);
            var tags = new JsArray(engine);
            foreach (var tag in candidate.Tags) tags.Push(tag);
            item.Set("tags", tags);
            candidates.Push(item);
        }
        return candidates;
    }

    private static string Subject(PolicyHooks kind) => kind switch
    {
        PolicyHooks.OnResponse => "answer",
        PolicyHooks.OnChunk => "stream chunk",
        _ => "request",
    };

    public static bool IsScriptFailure(Exception ex) =>
        ex is JavaScriptException or StatementsCountOverflowException or MemoryLimitExceededException or RecursionDepthOverflowException
            or TimeoutException or RegexMatchTimeoutException or ExecutionCanceledException or JintException or InsufficientExecutionStackException;

    private static bool IsLimit(Exception ex) =>
        ex is StatementsCountOverflowException or MemoryLimitExceededException or RecursionDepthOverflowException or TimeoutException
            or RegexMatchTimeoutException or ExecutionCanceledException or InsufficientExecutionStackException
            || (ex is JavaScriptException js && js.Error.IsObject() && js.Error.AsObject().Get("message") is var m && m.IsString()
                && m.AsString().StartsWith("Maximum call stack size exceeded", StringComparison.Ordinal));

    public static string Describe(Exception ex) => ex switch
    {
        StatementsCountOverflowException => "statement limit reached",
        MemoryLimitExceededException => "memory limit reached",
        RecursionDepthOverflowException => "recursion limit reached",
        RegexMatchTimeoutException => "regular expression time limit reached",
        ExecutionCanceledException => "given up on at its time limit",
        InsufficientExecutionStackException => "stack limit reached",
        TimeoutException => "time limit reached",
        JavaScriptException js => $"threw {js.Message} at line {js.Location.Start.Line}, column {js.Location.Start.Column}",
        _ => ex.Message,
    };
}
