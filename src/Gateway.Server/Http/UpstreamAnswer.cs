using Gateway.Core.Errors;
using Gateway.Core.Providers;
using Microsoft.AspNetCore.Http;

namespace Gateway.Server.Http;

/// <summary>Reads a whole non-stream answer into pooled memory before a byte of it goes to the client.</summary>
internal static class UpstreamAnswer
{
    /// <summary>A non-stream answer larger than this is a broken upstream, not an answer.</summary>
    public const int MaxBytes = 256 * 1024 * 1024;

    /// <summary>
    /// Reads the whole (non-stream) answer of a call that went out: its headers ended the wait for
    /// a first byte, and a read that fails (broken, stalled, too large) counts against the deployment.
    /// </summary>
    /// <returns>The body; or an error to answer with; or neither when the client went away.</returns>
    public static async ValueTask<(PooledBody? Body, GatewayError? Error)> ReadAllAsync(SentCall sent, UpstreamResponse upstream)
    {
        sent.Deadline.DataReceived();
        var read = await ReadAllAsync(upstream, sent.Deadline, sent.Provider.Name).ConfigureAwait(false);
        if (read.Error is not null) sent.Failed();
        return read;
    }

    private static async ValueTask<(PooledBody? Body, GatewayError? Error)> ReadAllAsync(UpstreamResponse upstream, UpstreamDeadline deadline, string provider)
    {
        // Reading it all first means a provider that breaks off halfway still gets an honest 502
        // instead of a truncated 200.
        var body = new PooledBody((int)Math.Min(upstream.ContentLength ?? 8 * 1024, MaxBytes) + 1);
        try
        {
            while (true)
            {
                int read = await upstream.Body.ReadAsync(body.GetFree(8 * 1024), deadline.Token).ConfigureAwait(false);
                if (read == 0) return (body, null);
                deadline.DataReceived();
                body.Advance(read);
                if (body.Length > MaxBytes)
                {
                    body.Dispose();
                    return (null, GatewayError.UpstreamBroken(provider, $"the answer exceeded {MaxBytes} bytes"));
                }
            }
        }
        catch (OperationCanceledException) when (deadline.Token.IsCancellationRequested)
        {
            body.Dispose();
            return deadline.ClientGone ? (null, null) : (null, GatewayError.UpstreamTimeout(provider, deadline.ExpiredLimit == DeadlineLimit.Idle ? "send more of the answer" : "finish the answer", deadline.Expired ?? TimeSpan.Zero));
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or ObjectDisposedException)
        {
            body.Dispose();
            return (null, GatewayError.UpstreamBroken(provider, ex.Message));
        }
    }

    /// <summary>Writes a whole answer with its length and the gateway's headers.</summary>
    public static Task WriteAsync(HttpContext context, int status, string? contentType, ReadOnlyMemory<byte> body, string? requestId, long started, long upstreamTicks)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = contentType ?? "application/json";
        response.ContentLength = body.Length;
        if (requestId is not null) response.Headers[GatewayHeaders.UpstreamRequestId] = requestId;
        response.Headers[GatewayHeaders.Overhead] = GatewayHeaders.FormatOverhead(started, upstreamTicks);
        // Unflushed: the answer goes out as the request completes, after its usage is settled (GatewayRouter.End),
        // so a client never holds an answer whose usage a crash could still lose.
        System.Buffers.BuffersExtensions.Write(response.BodyWriter, body.Span);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Sets the headers of an event stream. They go out with the first frame, not before: until
    /// then a failure can still be answered with an honest status.
    /// </summary>
    public static void PrepareEventStream(HttpResponse response, string contentType, string? requestId, long started, long upstreamTicks)
    {
        response.StatusCode = 200;
        response.ContentType = contentType;
        response.Headers.CacheControl = "no-cache";
        response.Headers["x-accel-buffering"] = "no";
        if (requestId is not null) response.Headers[GatewayHeaders.UpstreamRequestId] = requestId;
        response.Headers[GatewayHeaders.Overhead] = GatewayHeaders.FormatOverhead(started, upstreamTicks);
    }
}
