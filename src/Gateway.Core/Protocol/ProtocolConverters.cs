using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gateway.Core.Protocol;

/// <summary><c>"stop": "x"</c> and <c>"stop": ["x", "y"]</c> both as a list.</summary>
public sealed class StringOrArrayConverter : JsonConverter<List<string>>
{
    public override List<string>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.String:
                return [reader.GetString()!];
            case JsonTokenType.StartArray:
                var list = new List<string>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.String) throw new JsonException("expected a string or an array of strings");
                    list.Add(reader.GetString()!);
                }
                return list;
            default:
                throw new JsonException("expected a string or an array of strings");
        }
    }

    public override void Write(Utf8JsonWriter writer, List<string> value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var item in value) writer.WriteStringValue(item);
        writer.WriteEndArray();
    }
}

/// <summary><c>"auto"</c>, <c>"none"</c>, <c>"required"</c> or <c>{"type":"function","function":{"name":"f"}}</c>.</summary>
public sealed class ToolChoiceConverter : JsonConverter<ToolChoice>
{
    public override ToolChoice? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            string mode = reader.GetString()!;
            if (mode is not (ToolChoice.Auto or ToolChoice.None or ToolChoice.Required))
                throw new JsonException($"'{mode}' is not a tool choice (auto, none, required or a function)");
            return new ToolChoice(mode);
        }
        if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException("expected a string or an object");
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        if (root.TryGetProperty("function", out var function) && function.ValueKind == JsonValueKind.Object
            && function.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String)
            return ToolChoice.ForFunction(name.GetString()!);
        throw new JsonException("a tool choice object must name a function: {\"type\":\"function\",\"function\":{\"name\":...}}");
    }

    public override void Write(Utf8JsonWriter writer, ToolChoice value, JsonSerializerOptions options)
    {
        if (value.FunctionName is null)
        {
            writer.WriteStringValue(value.Mode);
            return;
        }
        writer.WriteStartObject();
        writer.WriteString("type"u8, "function"u8);
        writer.WriteStartObject("function"u8);
        writer.WriteString("name"u8, value.FunctionName);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }
}

/// <summary>Content as a string or as a list of parts.</summary>
public sealed class MessageContentConverter : JsonConverter<MessageContent>
{
    public override MessageContent? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.Null => null,
        JsonTokenType.String => MessageContent.FromText(reader.GetString()!),
        JsonTokenType.StartArray => MessageContent.FromParts(ReadParts(ref reader)),
        _ => throw new JsonException("content must be a string, an array of parts or null"),
    };

    private static List<ContentPart> ReadParts(ref Utf8JsonReader reader)
    {
        try
        {
            return JsonSerializer.Deserialize(ref reader, ProtocolJson.Default.ListContentPart) ?? [];
        }
        catch (JsonException e)
        {
            // The nested call reports a path relative to the parts; without a path of its own the
            // rethrown error gets the content's full path from the outer reader.
            throw new JsonException($"part {e.Path?.TrimStart('$')}: {e.Message.Split(" Path:")[0]}", e);
        }
    }

    public override void Write(Utf8JsonWriter writer, MessageContent value, JsonSerializerOptions options)
    {
        if (value.Text is not null) writer.WriteStringValue(value.Text);
        else JsonSerializer.Serialize(writer, value.Parts ?? [], ProtocolJson.Default.ListContentPart);
    }
}

/// <summary><c>{"url": ..., "detail": ...}</c>; a bare URL string is accepted too, as several SDKs send it.</summary>
public sealed class ImageUrlConverter : JsonConverter<ImageUrl>
{
    public override ImageUrl? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String) return new ImageUrl { Url = reader.GetString()! };
        if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException("image_url must be an object with a url");
        var image = new ImageUrl();
        bool hasUrl = false;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            bool isUrl = reader.ValueTextEquals("url"u8), isDetail = reader.ValueTextEquals("detail"u8);
            reader.Read();
            if (isUrl && reader.TokenType == JsonTokenType.String) { image.Url = reader.GetString()!; hasUrl = true; }
            else if (isDetail && reader.TokenType == JsonTokenType.String) image.Detail = reader.GetString();
            else reader.Skip();
        }
        return hasUrl ? image : throw new JsonException("image_url must have a url");
    }

    public override void Write(Utf8JsonWriter writer, ImageUrl value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteString("url"u8, value.Url);
        if (value.Detail is not null) writer.WriteString("detail"u8, value.Detail);
        writer.WriteEndObject();
    }
}
