using System.Text;
using System.Text.Json;
using Gateway.Core.Errors;

namespace Gateway.Providers.Bedrock;

/// <summary>A Bedrock error (<c>{"message": ...}</c> with the type in <c>x-amzn-errortype</c>) as a <see cref="GatewayError"/>.</summary>
internal static class BedrockErrors
{
    /// <param name="secretKey">The signing secret and the session token: AWS signs rather than sends them, but none may leave the gateway if echoed.</param>
    public static GatewayError FromResponse(string provider, int status, ReadOnlySpan<byte> body, string? errorType, string? secretKey = null, string? sessionToken = null)
    {
        string text = Http.SecretScrubber.Scrub(Encoding.UTF8.GetString(body), secretKey, sessionToken);
        string? message = null;
        try
        {
            using var doc = JsonDocument.Parse(text);
            if (doc.RootElement.TryGetProperty("message", out var m) || doc.RootElement.TryGetProperty("Message", out m)) message = m.GetString();
        }
        catch (Exception ex) when (Http.JsonShape.IsMismatch(ex))
        {
        }
        message ??= $"Provider '{provider}' answered {status}: {(text.Length > 1000 ? text[..1000] : text)}";
        string code = errorType?.Split(':')[0] ?? "upstream_error";
        if (status is 401 or 403)
            return new GatewayError(502, "upstream_error", "upstream_auth_failed", $"Provider '{provider}' rejected the gateway's credentials ({status}, {code}): {message}", ErrorSource.Upstream);
        string type = status switch { 429 => "rate_limit_error", >= 500 => "server_error", _ => "invalid_request_error" };
        return new GatewayError(status is >= 400 and <= 599 ? status : 502, type, code, message, ErrorSource.Upstream) { Kind = Classify(status, code, message) };
    }

    /// <summary>
    /// A <c>ValidationException</c> whose wording says the input is over the model's limit: Bedrock's
    /// own ("Input is too long for requested model", "too many input tokens") or the hosted model's
    /// (Anthropic's "prompt is too long", Meta's and Mistral's "maximum context length").
    /// </summary>
    internal static UpstreamFailureKind Classify(int status, string code, string message) =>
        status == 400 && code == "ValidationException"
        && (message.Contains("too long", StringComparison.OrdinalIgnoreCase)
            || message.Contains("too many input tokens", StringComparison.OrdinalIgnoreCase)
            || message.Contains("maximum context length", StringComparison.OrdinalIgnoreCase)
            || message.Contains("context window", StringComparison.OrdinalIgnoreCase))
            ? UpstreamFailureKind.ContextLength
            : UpstreamFailureKind.Other;
}
