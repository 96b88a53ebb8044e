using System.Text;
using System.Text.Json;
using Gateway.Core.Errors;

namespace Gateway.Providers.Bedrock;

/// <summary>A Bedrock error (<c>{"message": ...}</c> with the type in <c>x-amzn-errortype</c>) as a <see cref="GatewayError"/>.</summary>
internal static class BedrockErrors
{
    public static GatewayError FromResponse(string provider, int status, ReadOnlySpan<byte> body, string? errorType)
    {
        string text = Encoding.UTF8.GetString(body);
        string? message = null;
        try
        {
            using var doc = JsonDocument.Parse(text);
            if (doc.RootElement.TryGetProperty("message", out var m) || doc.RootElement.TryGetProperty("Message", out m)) message = m.GetString();
        }
        catch (JsonException)
        {
        }
        message ??= $"Provider '{provider}' answered {status}: {(text.Length > 1000 ? text[..1000] : text)}";
        string code = errorType?.Split(':')[0] ?? "upstream_error";
        if (status is 401 or 403)
            return new GatewayError(502, "upstream_error", "upstream_auth_failed", $"Provider '{provider}' rejected the gateway's credentials ({status}, {code}): {message}", ErrorSource.Upstream);
        string type = status switch { 429 => "rate_limit_error", >= 500 => "server_error", _ => "invalid_request_error" };
        return new GatewayError(status is >= 400 and <= 599 ? status : 502, type, code, message, ErrorSource.Upstream);
    }
}
