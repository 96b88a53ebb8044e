using System.Collections.Frozen;
using Gateway.Core.Errors;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Http;

/// <summary>
/// The gateway's handful of routes, matched by exact path in one frozen-dictionary lookup. Endpoint
/// routing (matcher, endpoint metadata, two middlewares) cost about 3% of the CPU of a proxied
/// request in the profile of the native binary, for a table that never changes.
/// </summary>
internal sealed partial class GatewayRouter(Gateway.Core.SnapshotHolder snapshots, ILoggerFactory loggers)
{
    /// <summary>The request log's own category: switched on by <c>server.logRequests</c>, whatever the general level.</summary>
    public const string RequestLogCategory = "Gateway.Requests";
    private readonly ILogger _logger = loggers.CreateLogger<GatewayRouter>();
    private readonly ILogger _requests = loggers.CreateLogger(RequestLogCategory);

    private readonly Dictionary<string, (string Method, RequestDelegate Handler)> _building = new(StringComparer.Ordinal);
    private FrozenDictionary<string, (string Method, RequestDelegate Handler)>? _routes;

    /// <summary>A client's id is echoed when it is 1 to 128 visible ASCII characters (it goes into logs and headers as it is).</summary>
    internal static bool IsUsableRequestId(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > 128) return false;
        foreach (char c in id)
            if (c is < '!' or > '~') return false;
        return true;
    }

    public GatewayRouter Add(string method, string path, RequestDelegate handler)
    {
        _building[path] = (method, handler);
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
        if (!_routes.TryGetValue(path, out var route))
            return ErrorResponses.WriteAsync(context, new GatewayError(404, "invalid_request_error", "not_found",
                $"No route {context.Request.Method} {context.Request.Path}. The gateway serves /v1/chat/completions, /v1/messages, /v1/embeddings and /v1/models.",
                ErrorSource.Client));
        // HEAD is GET without the body (Kestrel drops what the handler writes): load balancers probe /health with it.
        if (!string.Equals(context.Request.Method, route.Method, StringComparison.OrdinalIgnoreCase)
            && !(route.Method == "GET" && HttpMethods.IsHead(context.Request.Method)))
        {
            string allow = route.Method == "GET" ? "GET, HEAD" : route.Method;
            return ErrorResponses.WriteAsync(context, new GatewayError(405, "invalid_request_error", "method_not_allowed",
                $"{context.Request.Path} takes {allow}, not {context.Request.Method}.", ErrorSource.Client) { Headers = [new("Allow", allow)] });
        }

        long started = snapshots.Current.Config.Server.LogRequests ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
        Task task;
        try
        {
            task = route.Handler(context);
        }
        catch (Exception ex)
        {
            return FailAsync(context, ex);
        }
        if (task.IsCompletedSuccessfully)
        {
            if (started != 0) LogRequest(context, started);
            return task;
        }
        return GuardAsync(task, context, started);
    }

    /// <summary>The last line of defence: a bug answers 500 in the OpenAI shape instead of a bare reset.</summary>
    private async Task GuardAsync(Task task, HttpContext context, long started)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await FailAsync(context, ex).ConfigureAwait(false);
        }
        if (started != 0) LogRequest(context, started);
    }

    private void LogRequest(HttpContext context, long started) =>
        Log.Request(_requests, context.Request.Method, context.Request.Path.Value ?? "", context.RequestAborted.IsCancellationRequested ? 499 : context.Response.StatusCode,
            System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds, context.Response.Headers[GatewayHeaders.Overhead].ToString());

    private Task FailAsync(HttpContext context, Exception ex)
    {
        if (context.RequestAborted.IsCancellationRequested && ex is OperationCanceledException or IOException)
            return Task.CompletedTask; // the client went away; nothing to answer
        Log.Unhandled(_logger, context.Request.Path.Value ?? "", ex);
        if (!context.Response.HasStarted)
            return ErrorResponses.WriteAsync(context, GatewayError.Internal("The gateway failed to handle this request; the error is logged."));
        context.Abort();
        return Task.CompletedTask;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "Unhandled error on {Path}")]
        public static partial void Unhandled(ILogger logger, string path, Exception exception);

        [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "{Method} {Path} {Status} in {Milliseconds:0.###} ms (gateway {OverheadMs} ms)")]
        public static partial void Request(ILogger logger, string method, string path, int status, double milliseconds, string overheadMs);
    }
}
