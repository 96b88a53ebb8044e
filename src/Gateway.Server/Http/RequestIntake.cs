using Gateway.Core;
using Gateway.Core.Auth;
using Gateway.Core.Errors;
using Gateway.Core.Governance;
using Gateway.Core.Json;
using Gateway.Core.Routing;
using Gateway.Policies;
using Microsoft.AspNetCore.Http;
using Gateway.Server.Pipeline;

namespace Gateway.Server.Http;

/// <summary>What every model route does first: authenticate, read the body (bounded), validate it in one pass.</summary>
internal static class RequestIntake
{
    /// <summary>
    /// What intake found: the body (the caller disposes it) with its shape and the key, or the error to answer with;
    /// for a dialect that converts at intake, also the client's own bytes (the caller disposes them too), for a provider that speaks it.
    /// </summary>
    public readonly record struct Intake(PooledBody? Body, RequestShape Shape, GatewayKey? Key, GatewayError? Error, PooledBody? Original = null);

    public static async ValueTask<Intake> ReadAsync(HttpContext context, GatewaySnapshot snapshot, GovernanceDirectory directory,
        Pipeline.Dialects.InboundDialect dialect, Microsoft.Extensions.Logging.ILogger logger)
    {
        if (Authenticator.Authenticate(context, snapshot.Keys, directory, dialect.AcceptsGoogleKeys) is not { } key)
            return new(null, default, null, GatewayError.Unauthorized($"Missing or invalid gateway key. Send it as {dialect.KeyHint}."));
        if (Authenticator.IsExpired(key, snapshot.Time))
            return new(null, default, null, GatewayError.Unauthorized("This gateway key has expired."));
        if (GatewayRequest.Of(context) is { } request) request.Key = key;

        var (body, readError) = await RequestBodyReader.ReadAsync(context.Request, snapshot.MaxBodyBytes, context.RequestAborted).ConfigureAwait(false);
        if (body is null) return new(null, default, key, readError);
        PooledBody? original = null;
        if (dialect.ConvertsAtIntake)
        {
            // The dialect names its model outside the body (Gemini: in the URL): from here on the request is canonical.
            var canonical = new PooledBody(body.Length + 512);
            var conversionError = dialect.FromClient(context, body.Memory, canonical, logger);
            if (conversionError is not null)
            {
                canonical.Dispose();
                body.Dispose();
                return new(null, default, key, conversionError);
            }
            original = body;
            body = canonical;
        }
        if (RequestInspector.Inspect(body.Span, dialect.Kind, out var shape) is { } error)
        {
            body.Dispose();
            original?.Dispose();
            return new(null, default, key, error);
        }
        return new(body, shape, key, null, original);
    }

    /// <summary>The policies bound to one request, fixed at its start, and the context their hooks share (its PII vault).</summary>
    public sealed record BoundPolicies(PolicyChain Chain, PolicyContext Context);

    /// <summary>The model as the client named it (an alias or <c>provider/model</c>), JSON escapes decoded: what policies bind to and see.</summary>
    public static string ClientModel(PooledBody body, in RequestShape shape) => shape.Model(body.Span);

    /// <summary>
    /// The provider's model id (UTF-8, unescaped) and its JSON string form: an alias's pre-encoded
    /// bytes, or the tail of the client's own <c>provider/model</c> string, used in place.
    /// </summary>
    public static (ReadOnlyMemory<byte> Model, ReadOnlyMemory<byte> ModelJson) UpstreamModel(PooledBody body, in RequestShape shape, in ModelRoute route) =>
        UpstreamModel(body.Memory, shape, route);

    public static (ReadOnlyMemory<byte> Model, ReadOnlyMemory<byte> ModelJson) UpstreamModel(ReadOnlyMemory<byte> body, in RequestShape shape, in ModelRoute route)
    {
        if (route.Target is { } target) return (target.ModelUtf8, target.ModelJson);
        var inPlace = body[(shape.ModelStart + 1 + route.ModelOffset)..(shape.ModelEnd - 1)];
        return (inPlace, inPlace);
    }
}
