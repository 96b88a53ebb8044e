using Gateway.Core.Errors;
using Gateway.Server.Pipeline;
using Gateway.Server.Pipeline.Dialects;
using Microsoft.AspNetCore.Http;

namespace Gateway.Server.Http;

/// <summary>Writes a <see cref="GatewayError"/> as the HTTP answer (before any byte of a body went out).</summary>
internal static class ErrorResponses
{
    public static Task WriteAsync(HttpContext context, GatewayError error, long startedTimestamp = 0, long upstreamTicks = 0, InboundDialect? dialect = null)
    {
        var response = context.Response;
        if (response.HasStarted) return Task.CompletedTask;
        GatewayRequest.Of(context)?.Failed(error);
        dialect ??= InboundDialect.Default;
        // What the gateway already said about the attempts (x-gateway-attempts, -deployment, -fallback) stays.
        List<KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues>>? kept = null;
        foreach (var header in response.Headers)
            if (header.Key.StartsWith("x-gateway-", StringComparison.OrdinalIgnoreCase)) (kept ??= []).Add(header);
        response.Headers.Clear();
        foreach (var (name, value) in kept ?? []) response.Headers[name] = value;
        response.Headers[GatewayHeaders.RequestId] = context.TraceIdentifier;
        response.StatusCode = error.Status;
        response.ContentType = "application/json";
        foreach (var (name, value) in error.Headers) response.Headers[name] = value;
        if (startedTimestamp != 0) response.Headers[GatewayHeaders.Overhead] = GatewayHeaders.FormatOverhead(startedTimestamp, upstreamTicks);
        // The unread rest of an oversize body is not worth draining: close the connection after answering.
        if (error.Status == 413) response.Headers.Connection = "close";
        ReadOnlyMemory<byte> body = !error.RawBody.IsEmpty && error.RawBodyFormat == dialect.ErrorFormat ? error.RawBody : dialect.ErrorBody(error);
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body).AsTask();
    }
}
