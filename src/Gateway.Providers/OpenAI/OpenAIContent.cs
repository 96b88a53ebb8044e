using System.Text;
using System.Text.Json;
using Gateway.Core.Errors;

namespace Gateway.Providers.OpenAI;

/// <summary>Reading OpenAI message content for the request translators.</summary>
internal static class OpenAIContent
{
    /// <summary>The text of a message's content: the string itself, or its text parts joined.</summary>
    public static string Text(JsonElement content)
    {
        if (content.ValueKind == JsonValueKind.String) return content.GetString()!;
        if (content.ValueKind != JsonValueKind.Array) return "";
        var text = new StringBuilder();
        foreach (var part in content.EnumerateArray())
            if (part.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String) text.Append(t.GetString());
        return text.ToString();
    }

    /// <summary>An <c>image_url</c> part: a remote URL, or (for a base64 data URL) its media type and data.</summary>
    public readonly record struct Image(string Url, string? MediaType, string? Data)
    {
        public bool IsInline => Data is not null;
    }

    /// <summary>Reads an <c>image_url</c> part; a data URL that is not base64 is an error.</summary>
    public static GatewayError? ReadImage(JsonElement part, int messageIndex, out Image image)
    {
        var element = part.GetProperty("image_url");
        string url = element.ValueKind == JsonValueKind.String ? element.GetString()! : element.GetProperty("url").GetString()!;
        image = new Image(url, null, null);
        if (!url.StartsWith("data:", StringComparison.Ordinal)) return null;
        int comma = url.IndexOf(',', StringComparison.Ordinal);
        int semicolon = url.IndexOf(';', StringComparison.Ordinal);
        if (comma < 0 || semicolon < 0 || semicolon > comma || !url.AsSpan(semicolon, comma - semicolon).SequenceEqual(";base64"))
            return GatewayError.BadRequest($"messages[{messageIndex}].content: an image data URL must be base64 ('data:<type>;base64,...').", "invalid_image");
        image = new Image(url, url[5..semicolon], url[(comma + 1)..]);
        return null;
    }
}
