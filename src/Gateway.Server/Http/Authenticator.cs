using Gateway.Core.Auth;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Gateway.Server.Http;

/// <summary>Finds the gateway key in <c>Authorization: Bearer</c> or <c>x-api-key</c>.</summary>
internal static class Authenticator
{
    public static GatewayKey? Authenticate(HttpRequest request, KeyRing keys)
    {
        var headers = request.Headers;
        var authorization = headers[HeaderNames.Authorization];
        if (authorization.Count == 1)
        {
            var value = authorization[0].AsSpan().Trim();
            if (value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && keys.Find(value[7..].Trim()) is { } key)
                return key;
        }
        var apiKey = headers["x-api-key"];
        return apiKey.Count == 1 ? keys.Find(apiKey[0].AsSpan().Trim()) : null;
    }
}
