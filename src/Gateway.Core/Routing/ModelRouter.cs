using System.Text;
using System.Text.Json;
using Gateway.Core.Auth;
using Gateway.Core.Errors;
using Gateway.Core.Json;

namespace Gateway.Core.Routing;

/// <summary>
/// Maps the request's <c>model</c> to a provider: an alias from config first, then
/// <c>provider/model</c>. Allocation-free for the common (unescaped) case.
/// </summary>
public static class ModelRouter
{
    private const int MaxModelChars = 512;

    public static GatewayError? Resolve(GatewaySnapshot snapshot, ReadOnlySpan<byte> body, in RequestShape shape, GatewayKey key, out ModelRoute route)
    {
        route = default;
        var raw = shape.RawModel(body);
        // An escape is at most six bytes for one char, so this bounds the decoded length before decoding.
        if (raw.Length > MaxModelChars * 6 || (!shape.ModelEscaped && raw.Length > MaxModelChars))
            return TooLong();
        Span<char> chars = stackalloc char[raw.Length];
        int length;
        if (shape.ModelEscaped)
        {
            // The decoded value is the one name routing, the key check and policy bindings all read.
            var reader = new Utf8JsonReader(body[shape.ModelStart..shape.ModelEnd]);
            reader.Read();
            length = reader.CopyString(chars);
        }
        else
        {
            length = Encoding.UTF8.GetChars(raw, chars);
        }
        if (length > MaxModelChars) return TooLong();
        var model = chars[..length];

        if (!key.MayUse(model)) return NotAllowed(model.ToString());

        if (snapshot.GroupsBySpan.TryGetValue(model, out var group))
            return Pick(group, body, out route);

        if (ModelName.Validate(model) is { } invalid) return invalid;
        int slash = model.IndexOf('/');
        if (slash <= 0)
            return GatewayError.ModelNotFound(model.ToString());
        if (!snapshot.ProvidersBySpan.TryGetValue(model[..slash], out var provider))
            return new GatewayError(404, "invalid_request_error", "model_not_found",
                $"The model '{model}' names no configured provider ('{model[..slash]}'). GET /v1/models lists what is served.", ErrorSource.Client);

        // The client's own bytes are used in place when they are the value; '/' is ASCII, so its first
        // byte index equals its first char index. Escaped ones go out as the decoded name.
        route = shape.ModelEscaped
            ? new ModelRoute(provider, new RouteTarget(provider, model[(slash + 1)..].ToString()), 0)
            : new ModelRoute(provider, null, raw.IndexOf((byte)'/') + 1);
        return null;
    }

    /// <summary>The refusal of a model the key's model patterns do not cover.</summary>
    public static GatewayError NotAllowed(string model) =>
        GatewayError.Forbidden($"This key may not use the model '{model}'.", "model_not_allowed");

    private static GatewayError TooLong() => GatewayError.BadRequest($"'model' is longer than {MaxModelChars} characters.", "invalid_model");

    /// <summary>The group's first deployment for this request: the strategy's pick among those whose breaker is closed.</summary>
    private static GatewayError? Pick(DeploymentGroup group, ReadOnlySpan<byte> body, out ModelRoute route)
    {
        var request = RoutingRequest.For(body, group.CountsTokens);
        int deployment = group.Pick(0, request);
        if (deployment == DeploymentGroup.NoneCapable)
        {
            route = default;
            return GatewayError.BadRequest($"No deployment of '{group.Name}' can serve this request: it needs {Describe(request)}.", "model_not_capable");
        }
        // Every breaker open and none ready to probe: no deployment yet (-1); the endpoint waits for
        // the earliest probe. The first deployment stands in for the provider's kind meanwhile.
        route = deployment >= 0 ? ModelRoute.ToDeployment(group, deployment, request)
            : new ModelRoute(group.Deployments[0].Target.Provider, group.Deployments[0].Target, 0, group, -1, request);
        return null;
    }

    private static string Describe(in RoutingRequest request)
    {
        var needs = new List<string>();
        if ((request.Needs & Config.ModelCapabilities.Tools) != 0) needs.Add("tools");
        if ((request.Needs & Config.ModelCapabilities.Vision) != 0) needs.Add("vision");
        if ((request.Needs & Config.ModelCapabilities.JsonSchema) != 0) needs.Add("JSON schema output");
        needs.Add($"a context of about {request.TotalTokens} tokens ({request.EstimatedPromptTokens} in the prompt, {request.ExpectedOutputTokens} for the answer)");
        return string.Join(", ", needs);
    }
}
