using Gateway.Core;
using Gateway.Core.Auth;
using Gateway.Core.Errors;
using Gateway.Core.Json;
using Gateway.Core.Routing;
using Gateway.Policies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Http;

/// <summary>What every model route does first: authenticate, read the body (bounded), validate it, route it.</summary>
internal static class RequestIntake
{
    /// <summary>What intake found: the body to send (the caller disposes it) with its shape and route, or the error to answer with.</summary>
    /// <param name="Answer">Set when a policy answered in the provider's place (the caller disposes it and the body, which is then not to be sent).</param>
    /// <param name="Policies">The policies this request runs (their response hooks still to come) and its context; null when none bind.</param>
    public readonly record struct Intake(PooledBody? Body, RequestShape Shape, ModelRoute Route, GatewayError? Error, GatewayKey? Key = null, PooledBody? Answer = null,
        BoundPolicies? Policies = null);

    /// <param name="policies">Whose <c>onRequest</c> hooks run on the body (already in the canonical shape); null when the caller runs them itself.</param>
    public static async ValueTask<Intake> ReadAsync(HttpContext context, GatewaySnapshot snapshot, RequestKind kind, PolicySet? policies = null, ILogger? logger = null)
    {
        var key = Authenticator.Authenticate(context, snapshot.Keys);
        if (key is null)
            return new(null, default, default, GatewayError.Unauthorized("Missing or invalid gateway key. Send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'."));

        var (body, readError) = await RequestBodyReader.ReadAsync(context.Request, snapshot.MaxBodyBytes, context.RequestAborted).ConfigureAwait(false);
        if (body is null) return new(null, default, default, readError);

        ModelRoute route = default;
        BoundPolicies? bound = null;
        var error = RequestInspector.Inspect(body.Span, kind, out var shape);
        // A request no policy binds to pays one emptiness check here.
        if (error is null && policies is { IsEmpty: false })
        {
            // One decoded name binds the policies, fills ctx.model and meets the key's restriction, which
            // comes first: a model the key may not use is a 403, whatever a policy would have said.
            string model = ClientModel(body, shape);
            var chain = PolicyChain.Empty;
            if (!key.MayUse(model)) error = ModelRouter.NotAllowed(model);
            else chain = policies.Select(model, key.Id);
            if (!chain.IsEmpty)
            {
                bound = new BoundPolicies(chain, RequestPolicies.Context(model, key, chain, context.Request, snapshot, kind));
                var result = await RequestPolicies.RunAsync(chain, body.Memory, bound.Context, logger!).ConfigureAwait(false);
                // The body stays with the answer: the endpoint reads the client's model and stream flag from it.
                if (result.Answer is { } answer) return new(body, shape, default, null, key, answer, bound);
                if (result.NewBody is { } changed)
                {
                    body.Dispose();
                    body = changed;
                    // What a policy wrote is checked like what a client sent; a broken one is the policy's fault.
                    if (RequestInspector.Inspect(body.Span, kind, out shape) is { } invalid)
                        error = RequestPolicies.Failed(result.Policy!, $"it returned a request the gateway cannot send ({invalid.Message})");
                }
                error ??= result.Error;
            }
        }
        error ??= ModelRouter.Resolve(snapshot, body.Span, shape, key, out route);
        if (error is null) return new(body, shape, route, null, key, null, bound);
        body.Dispose();
        return new(null, default, default, error, key);
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
