namespace Gateway.Core.Errors;

/// <summary>
/// An error as a value: the hot path returns these instead of throwing. Rendered in the OpenAI
/// shape <c>{"error":{"message","type","code"}}</c> (or the Anthropic shape on /v1/messages).
/// </summary>
public sealed record GatewayError(int Status, string Type, string Code, string Message, ErrorSource Source)
{
    /// <summary>What kind of refusal this is, when a provider adapter recognised one (context length, content filter).</summary>
    public UpstreamFailureKind Kind { get; init; }

    /// <summary>Extra response headers to send with the error (e.g. <c>retry-after</c> from the provider).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    /// <summary>When set, the body to send as is (an upstream error already in a client-facing shape).</summary>
    public ReadOnlyMemory<byte> RawBody { get; init; }

    /// <summary>The shape <see cref="RawBody"/> is in: the canonical one (<see cref="OpenAiErrorJson.Format"/>, the default) or a provider's own, named by its adapter.</summary>
    public string RawBodyFormat { get; init; } = OpenAiErrorJson.Format;

    public static GatewayError BadRequest(string message, string code = "invalid_request") =>
        new(400, "invalid_request_error", code, message, ErrorSource.Client);

    public static GatewayError Unauthorized(string message) =>
        new(401, "authentication_error", "invalid_api_key", message, ErrorSource.Client);

    public static GatewayError Forbidden(string message, string code) =>
        new(403, "permission_error", code, message, ErrorSource.Client);

    public static GatewayError ModelNotFound(string model) =>
        new(404, "invalid_request_error", "model_not_found",
            $"The model '{model}' does not exist or is not served by this gateway. GET /v1/models lists what is.", ErrorSource.Client);

    /// <summary>A path the gateway does not serve (or a feature switched off), as opposed to an unknown model.</summary>
    public static GatewayError NotFound(string message) =>
        new(404, "invalid_request_error", "not_found", message, ErrorSource.Client);

    /// <summary>A method the path does not take; <paramref name="allow"/> goes out as the <c>Allow</c> header.</summary>
    public static GatewayError MethodNotAllowed(string path, string method, string allow) =>
        new(405, "invalid_request_error", "method_not_allowed", $"{path} takes {allow}, not {method}.", ErrorSource.Client) { Headers = [new("Allow", allow)] };

    public static GatewayError BodyTooLarge(long limit) =>
        new(413, "invalid_request_error", "request_too_large",
            $"Request body exceeds the gateway limit of {limit} bytes.", ErrorSource.Client);

    public static GatewayError UnsupportedMediaType(string message) =>
        new(415, "invalid_request_error", "unsupported_media_type", message, ErrorSource.Client);

    public static GatewayError UpstreamUnreachable(string provider, string detail) =>
        new(502, "upstream_error", "upstream_unreachable", $"Provider '{provider}' could not be reached: {detail}", ErrorSource.Upstream);

    public static GatewayError UpstreamBroken(string provider, string detail) =>
        new(502, "upstream_error", "upstream_connection_error", $"Provider '{provider}' broke the connection: {detail}", ErrorSource.Upstream);

    public static GatewayError UpstreamTimeout(string provider, string what, TimeSpan limit) =>
        new(504, "timeout_error", "upstream_timeout",
            $"Provider '{provider}' did not {what} within {(long)limit.TotalMilliseconds} ms.", ErrorSource.Timeout);

    public static GatewayError Internal(string message) =>
        new(500, "server_error", "internal_error", message, ErrorSource.Gateway);
}
