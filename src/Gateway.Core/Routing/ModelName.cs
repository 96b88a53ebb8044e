using Gateway.Core.Errors;

namespace Gateway.Core.Routing;

/// <summary>
/// What a model name a client sends upstream may contain. Providers put the name in URL paths
/// (<c>/models/{name}</c>, <c>/deployments/{name}</c>), where <c>.</c> and <c>..</c> segments are
/// resolved away by URI normalisation even when escaped, and in JSON bodies; a control character or a
/// non-ASCII one is never part of a real model id.
/// </summary>
public static class ModelName
{
    /// <returns>Null when the name may be sent, else the 400 that says why not.</returns>
    public static GatewayError? Validate(ReadOnlySpan<char> name)
    {
        foreach (char c in name)
        {
            if (c is < '!' or > '~')
                return GatewayError.BadRequest(
                    $"'model' may only contain printable ASCII characters without spaces; it has U+{(int)c:X4}.", "invalid_model");
        }
        foreach (var range in name.Split('/'))
        {
            var segment = name[range];
            if (segment.IsEmpty || segment is "." || segment is "..")
                return GatewayError.BadRequest(
                    $"'model' has an empty, '.' or '..' segment between slashes: '{name}'.", "invalid_model");
        }
        return null;
    }

    /// <summary>The same rule for names fixed in configuration (deployments), as a message for the config error.</summary>
    public static string? Problem(string name) => Validate(name)?.Message;
}
