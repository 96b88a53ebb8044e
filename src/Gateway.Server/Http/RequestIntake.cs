using Gateway.Core;
using Gateway.Core.Errors;
using Gateway.Core.Json;
using Gateway.Core.Routing;
using Microsoft.AspNetCore.Http;

namespace Gateway.Server.Http;

/// <summary>What every model route does first: authenticate, read the body (bounded), validate it, route it.</summary>
internal static class RequestIntake
{
    /// <returns>The body (the caller disposes it) with its shape and route; or the error to answer with.</returns>
    public static async ValueTask<(PooledBody? Body, RequestShape Shape, ModelRoute Route, GatewayError? Error)> ReadAsync(
        HttpContext context, GatewaySnapshot snapshot, RequestKind kind)
    {
        var key = Authenticator.Authenticate(context, snapshot.Keys);
        if (key is null)
            return (null, default, default, GatewayError.Unauthorized("Missing or invalid gateway key. Send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'."));

        var (body, readError) = await RequestBodyReader.ReadAsync(context.Request, snapshot.MaxBodyBytes, context.RequestAborted).ConfigureAwait(false);
        if (body is null) return (null, default, default, readError);

        ModelRoute route = default;
        var error = RequestInspector.Inspect(body.Span, kind, out var shape);
        error ??= ModelRouter.Resolve(snapshot, body.Span, shape, key, out route);
        if (error is null) return (body, shape, route, null);
        body.Dispose();
        return (null, default, default, error);
    }

    /// <summary>
    /// The provider's model id (UTF-8, unescaped) and its JSON string form: an alias's pre-encoded
    /// bytes, or the tail of the client's own <c>provider/model</c> string, used in place.
    /// </summary>
    public static (ReadOnlyMemory<byte> Model, ReadOnlyMemory<byte> ModelJson) UpstreamModel(PooledBody body, in RequestShape shape, in ModelRoute route)
    {
        if (route.Target is { } target) return (target.ModelUtf8, target.ModelJson);
        var inPlace = body.Memory[(shape.ModelStart + 1 + route.ModelOffset)..(shape.ModelEnd - 1)];
        return (inPlace, inPlace);
    }
}
