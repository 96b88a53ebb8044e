using System.Text.Json;
using Gateway.Core.Errors;
using Gateway.Core.Protocol;

namespace Gateway.Providers.OpenAI;

/// <summary>Reading canonical content for the request translators, with the 400s every adapter gives alike.</summary>
internal static class OpenAIContent
{
    /// <summary>An <c>image_url</c> part: a remote URL, or (for a base64 data URL) its media type and data.</summary>
    public readonly record struct Image(string Url, string? MediaType, string? Data)
    {
        public bool IsInline => Data is not null;
    }

    /// <summary>Reads an <c>image_url</c> part; a data URL that is not base64 is an error.</summary>
    public static GatewayError? ReadImage(ContentPart part, int messageIndex, out Image image)
    {
        string url = part.ImageUrl?.Url ?? "";
        image = new Image(url, null, null);
        if (url.Length == 0)
            return GatewayError.BadRequest($"messages[{messageIndex}].content: an image_url part needs a url.", "invalid_image");
        if (!DataUrl.IsDataUrl(url)) return null;
        if (!DataUrl.TryParse(url, out var inline))
            return GatewayError.BadRequest($"messages[{messageIndex}].content: an image data URL must be base64 ('data:<type>;base64,...').", "invalid_image");
        image = new Image(url, inline.MediaType, inline.Base64Data);
        return null;
    }

    /// <summary>A tool call's arguments as the JSON object every non-OpenAI provider wants; empty arguments are <c>{}</c>.</summary>
    public static GatewayError? ReadArguments(ToolCall call, int messageIndex, out JsonElement input)
    {
        input = default;
        string arguments = string.IsNullOrWhiteSpace(call.Function.Arguments) ? "{}" : call.Function.Arguments;
        try
        {
            using var parsed = JsonDocument.Parse(arguments);
            input = parsed.RootElement.Clone();
        }
        catch (JsonException)
        {
            return GatewayError.BadRequest($"messages[{messageIndex}].tool_calls: arguments of '{call.Function.Name}' are not valid JSON.", "invalid_messages");
        }
        return input.ValueKind == JsonValueKind.Object ? null
            : GatewayError.BadRequest($"messages[{messageIndex}].tool_calls: arguments of '{call.Function.Name}' must be a JSON object.", "invalid_messages");
    }

    /// <summary>A JSON object result parsed, or null when the text is anything else.</summary>
    public static JsonElement? TryParseObject(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.ValueKind == JsonValueKind.Object ? doc.RootElement.Clone() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
