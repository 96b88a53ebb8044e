using System.Text.Json;
using Gateway.Core.Errors;

namespace Gateway.Core.Protocol;

/// <summary>Reads OpenAI JSON into the canonical types; a shape it cannot read is a 400 naming where.</summary>
public static class ProtocolReader
{
    public static GatewayError? ReadRequest(ReadOnlyMemory<byte> json, out ChatRequest request)
    {
        request = null!;
        try
        {
            request = JsonSerializer.Deserialize(json.Span, ProtocolJson.Default.ChatRequest)!;
        }
        catch (JsonException e)
        {
            return GatewayError.BadRequest($"The request does not have the shape of a chat completion request at {e.Path ?? "$"}: {FirstSentence(e.Message)}", "invalid_request");
        }
        if (request is null) return GatewayError.BadRequest("The request body must be a JSON object.", "invalid_request");
        for (int i = 0; i < request.Messages.Count; i++)
            if (request.Messages[i] is null) return GatewayError.BadRequest($"messages[{i}] must be an object.", "invalid_messages");
        return null;
    }

    /// <summary>Reads an OpenAI-shaped answer; null when it is not one (the caller decides what that means).</summary>
    public static ChatCompletion? ReadCompletion(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, ProtocolJson.Default.ChatCompletion);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    // System.Text.Json appends "Path: ... | LineNumber: ..." to its own messages; the path is reported separately.
    private static string FirstSentence(string message)
    {
        int cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }
}
