using System.Text;
using System.Text.Json;
using Gateway.Core.Errors;

namespace Gateway.Providers.Anthropic;

/// <summary>An Anthropic error answer (<c>{"type":"error","error":{"type","message"}}</c>) as a <see cref="GatewayError"/>.</summary>
internal static class AnthropicUpstreamErrors
{
    public static GatewayError FromResponse(string provider, int status, ReadOnlySpan<byte> body, string? apiKey, string? retryAfter)
    {
        string text = Http.SecretScrubber.Scrub(Encoding.UTF8.GetString(body), apiKey);
        string? message = null, type = null;
        try
        {
            using var doc = JsonDocument.Parse(text);
            if (doc.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            {
                if (error.TryGetProperty("message", out var m)) message = m.GetString();
                if (error.TryGetProperty("type", out var t)) type = t.GetString();
            }
        }
        catch (Exception ex) when (Http.JsonShape.IsMismatch(ex))
        {
        }
        message ??= $"Provider '{provider}' answered {status}: {(text.Length > 1000 ? text[..1000] : text)}";
        var headers = retryAfter is null ? [] : new[] { KeyValuePair.Create("retry-after", retryAfter) };
        if (status is 401 or 403)
            return new GatewayError(502, "upstream_error", "upstream_auth_failed", $"Provider '{provider}' rejected the gateway's credentials ({status}): {message}", ErrorSource.Upstream) { Headers = headers };
        string openAiType = status switch
        {
            429 => "rate_limit_error",
            >= 500 => "server_error",
            _ => "invalid_request_error",
        };
        // 529 (overloaded) is Anthropic's own; OpenAI clients understand 503 and retry it.
        int clientStatus = status == 529 ? 503 : status is >= 400 and <= 599 ? status : 502;
        return new GatewayError(clientStatus, openAiType, type ?? "upstream_error", message, ErrorSource.Upstream) { Headers = headers, Kind = Classify(status, message) };
    }

    /// <summary>
    /// "prompt is too long: 210000 tokens > 200000 maximum", "input length and `max_tokens` exceed
    /// context limit": an <c>invalid_request_error</c> whose wording says the context is exceeded.
    /// (A 413 here is the request's byte size, not its tokens.) Anthropic refuses content in the
    /// answer (<c>stop_reason: refusal</c>), not with an error.
    /// </summary>
    internal static UpstreamFailureKind Classify(int status, string message) =>
        status == 400 && (message.Contains("prompt is too long", StringComparison.OrdinalIgnoreCase)
            || message.Contains("exceed context limit", StringComparison.OrdinalIgnoreCase)
            || message.Contains("context window", StringComparison.OrdinalIgnoreCase))
            ? UpstreamFailureKind.ContextLength
            : UpstreamFailureKind.Other;
}
