using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gateway.Core.Protocol;

/// <summary>A message's content: either one string or a list of typed parts, as OpenAI allows both.</summary>
[JsonConverter(typeof(MessageContentConverter))]
public sealed class MessageContent
{
    private MessageContent(string? text, List<ContentPart>? parts)
    {
        Text = text;
        Parts = parts;
    }

    /// <summary>The content when it was sent as one string; null when it is a list of parts.</summary>
    public string? Text { get; }

    /// <summary>The content when it was sent as parts; null when it is one string.</summary>
    public List<ContentPart>? Parts { get; }

    public static MessageContent FromText(string text) => new(text, null);

    public static MessageContent FromParts(List<ContentPart> parts) => new(null, parts);

    /// <summary>The string, or the text parts joined; other parts contribute nothing.</summary>
    public string JoinedText()
    {
        if (Text is not null) return Text;
        if (Parts is null) return "";
        if (Parts.Count == 1) return Parts[0].Text ?? "";
        var text = new StringBuilder();
        foreach (var part in Parts) text.Append(part.Text);
        return text.ToString();
    }
}

/// <summary>One part of a message's content.</summary>
public sealed class ContentPart
{
    public const string TextType = "text";
    public const string ImageType = "image_url";
    public const string AudioType = "input_audio";
    public const string FileType = "file";

    [JsonPropertyName("type")] public string Type { get; set; } = TextType;
    [JsonPropertyName("text")] public string? Text { get; set; }
    [JsonPropertyName("image_url")] public ImageUrl? ImageUrl { get; set; }
    [JsonPropertyName("input_audio")] public InputAudio? InputAudio { get; set; }
    [JsonPropertyName("file")] public FilePart? File { get; set; }
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    public static ContentPart FromText(string text) => new() { Type = TextType, Text = text };
}

/// <summary>An image by URL; a <c>data:</c> URL carries it inline (see <see cref="DataUrl"/>).</summary>
[JsonConverter(typeof(ImageUrlConverter))]
public sealed class ImageUrl
{
    public string Url { get; set; } = "";

    /// <summary>auto, low or high.</summary>
    public string? Detail { get; set; }
}

public sealed class InputAudio
{
    [JsonPropertyName("data")] public string Data { get; set; } = "";
    [JsonPropertyName("format")] public string Format { get; set; } = "";
}

public sealed class FilePart
{
    [JsonPropertyName("file_id")] public string? FileId { get; set; }
    [JsonPropertyName("file_data")] public string? FileData { get; set; }
    [JsonPropertyName("filename")] public string? Filename { get; set; }
}
