using System.Net.Sockets;
using Gateway.Core.Errors;
using Gateway.Core.Providers;

namespace Gateway.Providers.Http;

/// <summary>What every HTTP provider does around the call itself: send, classify failures, read bounded bodies.</summary>
internal static class UpstreamHttp
{
    /// <summary>Sends; on failure disposes the request and returns why, as a value.</summary>
    /// <param name="connectTimeout">The call's own connect limit (zero: the provider's).</param>
    public static async ValueTask<(HttpResponseMessage? Response, UpstreamResult Failure)> SendAsync(
        HttpMessageInvoker invoker, HttpRequestMessage request, string provider, CancellationToken cancellationToken, TimeSpan connectTimeout = default,
        TraceHeaders trace = default)
    {
        if (connectTimeout > TimeSpan.Zero) request.Options.Set(UpstreamHandlerPool.ConnectTimeoutOption, connectTimeout);
        // The trace goes on to the provider: the attempt's span as its parent.
        if (trace.Traceparent is { } traceparent)
        {
            request.Headers.TryAddWithoutValidation("traceparent", traceparent);
            if (trace.Tracestate is { Length: > 0 } state) request.Headers.TryAddWithoutValidation("tracestate", state);
        }
        try
        {
            return (await invoker.SendAsync(request, cancellationToken).ConfigureAwait(false), default);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            request.Dispose();
            return (null, UpstreamResult.CanceledResult);
        }
        catch (HttpRequestException ex)
        {
            request.Dispose();
            return (null, UpstreamResult.Fail(Classify(provider, ex)));
        }
    }

    /// <summary>
    /// The answer of a call whose body goes to the client as it comes (a passthrough): on 2xx its body as a
    /// stream, owned with the request until the answer is disposed; otherwise the error <paramref name="error"/>
    /// makes of the status and the (bounded) error body, everything disposed. A redirect is not followed (the
    /// provider key would go with it) and not relayed: it is an error like the others.
    /// </summary>
    /// <param name="requestIdHeader">The provider's header with its own request id, passed on; null when it has none.</param>
    public static async ValueTask<UpstreamResult> RelayAsync<TState>(HttpRequestMessage request, HttpResponseMessage response, string provider, string? requestIdHeader,
        int maxErrorBody, TState state, Func<TState, int, byte[], HttpResponseMessage, GatewayError> error, CancellationToken cancellationToken)
    {
        try
        {
            int status = (int)response.StatusCode;
            if (status is < 200 or >= 300)
            {
                var body = await ReadBoundedAsync(response.Content, maxErrorBody, truncate: true, cancellationToken).ConfigureAwait(false);
                var failure = error(state, status, body, response);
                response.Dispose();
                request.Dispose();
                return UpstreamResult.Fail(failure);
            }
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            return UpstreamResult.Ok(new UpstreamResponse(status, response.Content.Headers.ContentType?.ToString(), response.Content.Headers.ContentLength,
                stream, new ResponseOwner(request, response)) { RequestId = requestIdHeader is null ? null : Header(response, requestIdHeader) });
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            response.Dispose();
            request.Dispose();
            return UpstreamResult.CanceledResult;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            response.Dispose();
            request.Dispose();
            return UpstreamResult.Fail(GatewayError.UpstreamBroken(provider, ex.Message));
        }
    }

    /// <summary>Could not connect (502 unreachable) versus connected and then broke (502 connection error).</summary>
    public static GatewayError Classify(string provider, HttpRequestException ex)
    {
        bool connect = ex.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError
            || ex.InnerException is SocketException;
        string detail = ex.InnerException?.Message ?? ex.Message;
        return connect ? GatewayError.UpstreamUnreachable(provider, detail) : GatewayError.UpstreamBroken(provider, detail);
    }

    public static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    /// <summary>Reads a whole body; past <paramref name="limit"/> it either stops (error bodies) or throws (answers).</summary>
    public static async Task<byte[]> ReadBoundedAsync(HttpContent content, int limit, bool truncate, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                if (!truncate) throw new IOException($"the answer exceeded {limit} bytes");
                buffer.Write(chunk, 0, limit - (int)buffer.Length);
                break;
            }
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }
}
