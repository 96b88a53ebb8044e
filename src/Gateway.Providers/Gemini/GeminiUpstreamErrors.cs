using System.Text;
using System.Text.Json;
using Gateway.Core.Errors;

namespace Gateway.Providers.Gemini;

/// <summary>A Gemini error (<c>google.rpc.Status</c>: code, message, status, details) as a <see cref="GatewayError"/>.</summary>
internal static class GeminiUpstreamErrors
{
    public static GatewayError FromResponse(string provider, int status, ReadOnlySpan<byte> body, string? apiKey)
    {
        string text = Http.SecretScrubber.Scrub(Encoding.UTF8.GetString(body), apiKey);
        string? message = null, rpcStatus = null, retryAfter = null, reason = null;
        try
        {
            using var doc = JsonDocument.Parse(text);
            var root = doc.RootElement.ValueKind == JsonValueKind.Array && doc.RootElement.GetArrayLength() > 0 ? doc.RootElement[0] : doc.RootElement;
            if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            {
                if (error.TryGetProperty("message", out var m)) message = m.GetString();
                if (error.TryGetProperty("status", out var s)) rpcStatus = s.GetString();
                if (error.TryGetProperty("details", out var details) && details.ValueKind == JsonValueKind.Array)
                    foreach (var detail in details.EnumerateArray())
                    {
                        // google.rpc.RetryInfo {"retryDelay": "7s"} -> retry-after: 7
                        if (detail.TryGetProperty("retryDelay", out var delay) && delay.GetString() is { } d && d.EndsWith('s')
                            && double.TryParse(d[..^1], System.Globalization.CultureInfo.InvariantCulture, out double seconds))
                            retryAfter = Math.Ceiling(seconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
                        if (detail.TryGetProperty("reason", out var r)) reason = r.GetString();
                    }
            }
        }
        catch (Exception ex) when (Http.JsonShape.IsMismatch(ex))
        {
        }
        message ??= $"Provider '{provider}' answered {status}: {(text.Length > 1000 ? text[..1000] : text)}";
        var headers = retryAfter is null ? [] : new[] { KeyValuePair.Create("retry-after", retryAfter) };
        if (status is 401 or 403 || reason == "API_KEY_INVALID")
            return new GatewayError(502, "upstream_error", "upstream_auth_failed", $"Provider '{provider}' rejected the gateway's credentials ({status}): {message}", ErrorSource.Upstream) { Headers = headers };
        string type = status switch
        {
            429 => "rate_limit_error",
            >= 500 => "server_error",
            _ => "invalid_request_error",
        };
        return new GatewayError(status is >= 400 and <= 599 ? status : 502, type, rpcStatus?.ToLowerInvariant() ?? "upstream_error", message, ErrorSource.Upstream)
        {
            Headers = headers,
            Kind = Classify(status, message),
        };
    }

    /// <summary>
    /// "The input token count (1048577) exceeds the maximum number of tokens allowed (1048576)": an
    /// <c>INVALID_ARGUMENT</c>. Gemini blocks content in the answer (<c>finishReason: SAFETY</c>), not with an error.
    /// </summary>
    internal static UpstreamFailureKind Classify(int status, string message) =>
        status == 400 && (message.Contains("exceeds the maximum number of tokens", StringComparison.OrdinalIgnoreCase)
            || message.Contains("context window", StringComparison.OrdinalIgnoreCase))
            ? UpstreamFailureKind.ContextLength
            : UpstreamFailureKind.Other;
}
