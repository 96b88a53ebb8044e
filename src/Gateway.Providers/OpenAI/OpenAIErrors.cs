using System.Text;
using System.Text.Json;
using Gateway.Core.Errors;

namespace Gateway.Providers.OpenAI;

/// <summary>Turns an OpenAI(-compatible) error answer into a <see cref="GatewayError"/>, keeping the provider's words.</summary>
internal static class OpenAIErrors
{
    private const int MaxSnippet = 1000;

    public static GatewayError FromResponse(string provider, int status, ReadOnlySpan<byte> body, string? apiKey, string? retryAfter)
    {
        // Some providers echo (parts of) the credential in auth errors; none of it may leave the gateway, escaped or not.
        string text = Http.SecretScrubber.Scrub(Encoding.UTF8.GetString(body), apiKey);

        var headers = retryAfter is null ? [] : new[] { KeyValuePair.Create("retry-after", retryAfter) };
        string? message = null, type = null, code = null;
        bool openAiShape = TryReadError(text, out message, out type, out code);

        // A 401/403 from the provider is about the gateway's provider credential, not the client's
        // key: passing 401 on would make clients believe their gateway key is wrong.
        if (status is 401 or 403)
        {
            return new GatewayError(502, "upstream_error", "upstream_auth_failed",
                $"Provider '{provider}' rejected the gateway's credentials ({status}): {message ?? Snippet(text)}", ErrorSource.Upstream) { Headers = headers };
        }

        int clientStatus = status is >= 400 and <= 599 ? status : 502;
        if (openAiShape)
        {
            return new GatewayError(clientStatus, type ?? "upstream_error", code ?? "upstream_error", message!, ErrorSource.Upstream)
            {
                Kind = Classify(status, code, message!),
                Headers = headers,
                RawBody = Encoding.UTF8.GetBytes(text),
            };
        }
        string fallbackType = status == 429 ? "rate_limit_error" : status >= 500 ? "upstream_error" : "invalid_request_error";
        return new GatewayError(clientStatus, fallbackType, "upstream_error",
            $"Provider '{provider}' answered {status}: {Snippet(text)}", ErrorSource.Upstream) { Headers = headers, Kind = Classify(status, null, message ?? text) };
    }

    /// <summary>
    /// OpenAI's codes (<c>context_length_exceeded</c>, <c>content_filter</c>, <c>content_policy_violation</c>),
    /// Azure's content-management wording, and the wording of compatible servers (vLLM, llama.cpp, Ollama).
    /// </summary>
    internal static UpstreamFailureKind Classify(int status, string? code, string message)
    {
        if (status is not (400 or 413 or 422)) return UpstreamFailureKind.Other;
        if (code is "context_length_exceeded"
            || message.Contains("context length", StringComparison.OrdinalIgnoreCase)
            || message.Contains("context window", StringComparison.OrdinalIgnoreCase)
            || message.Contains("exceeds the available context size", StringComparison.OrdinalIgnoreCase))
            return UpstreamFailureKind.ContextLength;
        if (code is "content_filter" or "content_policy_violation" or "ResponsibleAIPolicyViolation"
            || message.Contains("content management policy", StringComparison.OrdinalIgnoreCase))
            return UpstreamFailureKind.ContentFilter;
        return UpstreamFailureKind.Other;
    }

    private static bool TryReadError(string text, out string? message, out string? type, out string? code)
    {
        message = type = code = null;
        try
        {
            using var doc = JsonDocument.Parse(text);
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("error", out var error)) return false;
            if (error.ValueKind == JsonValueKind.String)
            {
                message = error.GetString(); // some compatible servers: {"error": "text"}
                return false;
            }
            if (error.ValueKind != JsonValueKind.Object || !error.TryGetProperty("message", out var m) || m.ValueKind != JsonValueKind.String) return false;
            message = m.GetString();
            if (error.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String) type = t.GetString();
            if (error.TryGetProperty("code", out var c)) code = c.ValueKind switch
            {
                JsonValueKind.String => c.GetString(),
                JsonValueKind.Number => c.GetRawText(),
                _ => null,
            };
            return true;
        }
        catch (Exception ex) when (Http.JsonShape.IsMismatch(ex))
        {
            return false;
        }
    }

    private static string Snippet(string text)
    {
        text = text.Trim();
        if (text.Length == 0) return "(empty body)";
        return text.Length <= MaxSnippet ? text : text[..MaxSnippet] + "…";
    }
}
