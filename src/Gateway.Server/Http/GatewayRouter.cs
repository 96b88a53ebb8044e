using System.Collections.Frozen;
using Gateway.Core.Errors;
using Microsoft.AspNetCore.Http;
using Gateway.Server.Pipeline;
using Gateway.Server.Pipeline.Dialects;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Http;

/// <summary>
/// The gateway's handful of routes, matched by exact path in one frozen-dictionary lookup. Endpoint
/// routing (matcher, endpoint metadata, two middlewares) cost about 3% of the CPU of a proxied
/// request in the profile of the native binary, for a table that never changes.
/// </summary>
internal sealed partial class GatewayRouter(Gateway.Core.SnapshotHolder snapshots, ILoggerFactory loggers, IEnumerable<IRequestSink> sinks, RequestLogSink requestLog,
    Governance.GovernanceGate governor, Observability.Tracing.GatewayTracer tracer, Governance.UsageSettlement? settlement = null)
{
    private readonly ILogger _logger = loggers.CreateLogger<GatewayRouter>();
    private readonly IRequestSink[] _sinks = [.. sinks];

    /// <summary>A route: its method, its handler, and for a model route the dialect it speaks (its requests end in a record).</summary>
    private readonly record struct Route(string Method, RequestDelegate Handler, InboundDialect? Dialect);

    private readonly Dictionary<string, Route> _building = new(StringComparer.Ordinal);
    private FrozenDictionary<string, Route>? _routes;

    /// <summary>A client's id is echoed when it is 1 to 128 visible ASCII characters (it goes into logs and headers as it is).</summary>
    internal static bool IsUsableRequestId(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > 128) return false;
        foreach (char c in id)
            if (c is < '!' or > '~') return false;
        return true;
    }

    private readonly List<(string Prefix, RequestDelegate Handler)> _prefixes = [];

    /// <summary>A handler for a whole subtree (the admin API), which checks its own methods and paths.</summary>
    public GatewayRouter AddPrefix(string prefix, RequestDelegate handler)
    {
        _prefixes.Add((prefix, handler));
        return this;
    }

    public GatewayRouter Add(string method, string path, RequestDelegate handler)
    {
        _building[path] = new Route(method, handler, null);
        return this;
    }

    /// <summary>A model route: the pipeline in one dialect, each request ending in one record handed to the sinks.</summary>
    public GatewayRouter AddModelRoute(string path, InboundDialect dialect, ModelPipeline pipeline)
    {
        _building[path] = new Route("POST", context => pipeline.HandleAsync(context, dialect), dialect);
        return this;
    }

    private readonly List<(Func<string, bool> Matches, Route Route)> _patterns = [];

    /// <summary>A model route whose paths carry the model (the Gemini API's <c>/v1beta/models/{model}:generateContent</c>), matched when no exact path is.</summary>
    public GatewayRouter AddModelPattern(Func<string, bool> matches, InboundDialect dialect, ModelPipeline pipeline)
    {
        _patterns.Add((matches, new Route("POST", context => pipeline.HandleAsync(context, dialect), dialect)));
        return this;
    }

    public Task DispatchAsync(HttpContext context)
    {
        _routes ??= _building.ToFrozenDictionary(StringComparer.Ordinal);
        // Every answer, errors included, carries the request's id: the client's own when it sent a
        // usable one, else Kestrel's (unique per request, made only when read).
        var requestId = context.Request.Headers[GatewayHeaders.RequestId];
        if (requestId.Count == 1 && IsUsableRequestId(requestId[0])) context.TraceIdentifier = requestId[0]!;
        context.Response.Headers[GatewayHeaders.RequestId] = context.TraceIdentifier;
        string path = context.Request.Path.Value ?? "/";
        if (path.Length > 1 && path[^1] == '/') path = path[..^1];
        if (!_routes.TryGetValue(path, out var route) && !TryPattern(path, out route))
        {
            foreach (var (prefix, handler) in _prefixes)
                if (path.StartsWith(prefix, StringComparison.Ordinal) && (path.Length == prefix.Length || path[prefix.Length] == '/'))
                    return Plain(context, handler);
            return ErrorResponses.WriteAsync(context, GatewayError.NotFound(
                $"No route {context.Request.Method} {context.Request.Path}. The gateway serves /v1/chat/completions, /v1/responses, /v1/messages, /v1/embeddings, /v1/models and /v1beta/models/{{model}}:generateContent."));
        }
        // HEAD is GET without the body (Kestrel drops what the handler writes): load balancers probe /health with it.
        if (!string.Equals(context.Request.Method, route.Method, StringComparison.OrdinalIgnoreCase)
            && !(route.Method == "GET" && HttpMethods.IsHead(context.Request.Method)))
        {
            string allow = route.Method == "GET" ? "GET, HEAD" : route.Method;
            return ErrorResponses.WriteAsync(context, GatewayError.MethodNotAllowed(context.Request.Path.Value ?? "", context.Request.Method, allow));
        }

        var snapshot = snapshots.Current;
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        GatewayRequest? request = null;
        if (route.Dialect is not null)
        {
            // The snapshot is read once, here: the whole request, fallbacks included, runs on it.
            request = GatewayRequest.Rent(snapshot, started);
            request.Dialect = route.Dialect.Name;
            request.Tracer = tracer;
            request.Trace = tracer.StartRequest(context);
            context.Features.Set(request);
        }
        return Run(context, route.Handler, request, started);
    }

    private bool TryPattern(string path, out Route route)
    {
        foreach (var (matches, candidate) in _patterns)
        {
            if (!matches(path)) continue;
            route = candidate;
            return true;
        }
        route = default;
        return false;
    }

    /// <summary>A route without a model (the admin API): guarded and logged like the others, no record.</summary>
    private Task Plain(HttpContext context, RequestDelegate handler) => Run(context, handler, null, System.Diagnostics.Stopwatch.GetTimestamp());

    /// <summary>Runs a handler so that the request ends exactly once, whether it completes at once, later, or throws.</summary>
    private Task Run(HttpContext context, RequestDelegate handler, GatewayRequest? request, long started)
    {
        Task task;
        try
        {
            task = handler(context);
        }
        catch (Exception ex)
        {
            task = FailAsync(context, ex);
        }
        if (task.IsCompletedSuccessfully)
        {
            var end = End(context, request, started);
            return end.IsCompletedSuccessfully ? task : end.AsTask();
        }
        return GuardAsync(task, context, request, started);
    }

    /// <summary>The last line of defence: a bug answers 500 in the OpenAI shape instead of a bare reset.</summary>
    private async Task GuardAsync(Task task, HttpContext context, GatewayRequest? request, long started)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await FailAsync(context, ex).ConfigureAwait(false);
        }
        await End(context, request, started).ConfigureAwait(false);
    }

    /// <summary>
    /// Where every request ends, whatever its outcome: a model request's record goes to each sink, once. With a
    /// shared store, its usage is committed first, before the response completes (an unflushed answer waits in it).
    /// </summary>
    private ValueTask End(HttpContext context, GatewayRequest? request, long started)
    {
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        if (request is null)
        {
            requestLog.WritePlain(context.Request.Method, context.Request.Path.Value ?? "", context.Response.StatusCode,
                System.Diagnostics.Stopwatch.GetElapsedTime(started, now).TotalMilliseconds, context.TraceIdentifier);
            return default;
        }
        context.Features.Set<GatewayRequest>(null);
        var record = request.ToRecord(context, now);
        // Limits and budgets settle to what the request really used, however it ended; a shared store's settle and the
        // usage commit are waited for before the response completes, so the client's next request sees both.
        var settled = Settle(request, record);
        if (settlement?.Commit(record) is { } commit) record = record with { UsageCommit = commit };
        if (!settled.IsCompletedSuccessfully || record.UsageCommit is { IsCompleted: false })
            return EndAfterAsync(settled, record.UsageCommit, request, record);
        Finish(request, record);
        return default;
    }

    private async ValueTask EndAfterAsync(ValueTask settled, Task<bool>? commit, GatewayRequest request, RequestRecord record)
    {
        try
        {
            await settled.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.SinkFailed(_logger, nameof(Governance.GovernanceCosts.Settlement), ex);
        }
        if (commit is not null)
        {
            try
            {
                await commit.WaitAsync(Governance.UsageSettlement.MaxWait).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // A slow store: the request goes on; the request log's writer waits for the commit's outcome instead.
            }
        }
        Finish(request, record);
    }

    private ValueTask Settle(GatewayRequest request, in RequestRecord record)
    {
        // Each step is guarded on its own: one failing must not leave a reservation unsettled or a span unwritten.
        try
        {
            var settled = default(ValueTask);
            if (!request.Reservation.IsEmpty)
            {
                var (tokens, cost) = Governance.GovernanceCosts.Settlement(record);
                settled = governor.SettleAsync(request.Reservation, tokens, cost);
            }
            // A deployment's budget is charged what its answer cost.
            if (record.CostNanos is > 0 && request.Snapshot.DeploymentBudgets.Count > 0 && record.Provider is not null
                && request.Snapshot.DeploymentBudgets.TryGetValue(record.Provider + "/" + record.ProviderModel, out var deployment))
            {
                var charged = governor.ChargeAsync(deployment, record.CostNanos.Value);
                if (!charged.IsCompletedSuccessfully) return Both(settled, charged);
            }
            return settled;
        }
        catch (Exception ex)
        {
            Log.SinkFailed(_logger, nameof(Governance.GovernanceCosts.Settlement), ex);
            return default;
        }
    }

    private static async ValueTask Both(ValueTask first, ValueTask second)
    {
        await first.ConfigureAwait(false);
        await second.ConfigureAwait(false);
    }

    private void Finish(GatewayRequest request, in RequestRecord record)
    {
        if (request.Trace.Recorded)
        {
            try
            {
                tracer.EndRequest(request.Trace, request.Started, record,
                    record.Provider is not null && request.Snapshot.Providers.TryGetValue(record.Provider, out var served) ? served.Config.Type : null);
            }
            catch (Exception ex)
            {
                Log.SinkFailed(_logger, nameof(Observability.Tracing.GatewayTracer), ex);
            }
        }
        foreach (var sink in _sinks)
        {
            try
            {
                sink.Write(record);
            }
            catch (Exception ex)
            {
                // A sink's bug must not fail a request that has already been answered.
                Log.SinkFailed(_logger, sink.GetType().Name, ex);
            }
        }
        GatewayRequest.Return(request);
    }

    private Task FailAsync(HttpContext context, Exception ex)
    {
        if (context.RequestAborted.IsCancellationRequested && ex is OperationCanceledException or IOException)
        {
            if (GatewayRequest.Of(context) is { } gone) gone.Outcome = RequestOutcome.ClientGone;
            return Task.CompletedTask; // the client went away; nothing to answer
        }
        Log.Unhandled(_logger, context.Request.Path.Value ?? "", ex);
        if (GatewayRequest.Of(context) is { } failed) failed.Outcome = RequestOutcome.GatewayError;
        if (!context.Response.HasStarted)
            return ErrorResponses.WriteAsync(context, GatewayError.Internal("The gateway failed to handle this request; the error is logged."));
        context.Abort();
        return Task.CompletedTask;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "Unhandled error on {Path}")]
        public static partial void Unhandled(ILogger logger, string path, Exception exception);

        [LoggerMessage(EventId = 7, Level = LogLevel.Error, Message = "Request sink {Sink} failed")]
        public static partial void SinkFailed(ILogger logger, string sink, Exception exception);
    }
}
