using System.Text.Json;
using Gateway.Core.Errors;

namespace Gateway.Providers.Http;

/// <summary>
/// What System.Text.Json's DOM throws when a document parses but is not of the shape read from it (a
/// number where an object was expected, a missing property, invalid UTF-8 inside a string): the
/// translators turn these into the error their caller answers with, never an unhandled exception.
/// </summary>
internal static class JsonShape
{
    public static bool IsMismatch(Exception ex) =>
        ex is JsonException or InvalidOperationException or KeyNotFoundException or FormatException or OverflowException
            or IndexOutOfRangeException or ArgumentOutOfRangeException;

    /// <summary>A provider's answer the gateway cannot read: the provider's fault (502).</summary>
    public static GatewayError InvalidAnswer(Exception ex) =>
        new(502, "upstream_error", "upstream_invalid_response", $"The provider's answer does not have the shape the gateway reads: {ex.Message}", ErrorSource.Upstream);

    /// <summary>A client's request the gateway cannot read: the client's fault (400).</summary>
    public static GatewayError InvalidRequest(Exception ex) =>
        GatewayError.BadRequest($"The request does not have the shape the gateway reads: {ex.Message}", "invalid_request");

    /// <summary>A client's request parsed for a translator; the error when it is not JSON.</summary>
    public static GatewayError? ParseRequest(ReadOnlyMemory<byte> body, out JsonDocument document)
    {
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 256 });
            return null;
        }
        catch (JsonException)
        {
            document = null!;
            return GatewayError.BadRequest("The request body is not valid JSON.", "invalid_json");
        }
    }

    /// <summary>For stream readers: a malformed event is a <see cref="JsonException"/>, which the relay turns into a failed stream.</summary>
    public static JsonException MalformedEvent(Exception ex) =>
        ex as JsonException ?? new JsonException($"the event does not have the expected shape: {ex.Message}", ex);
}
