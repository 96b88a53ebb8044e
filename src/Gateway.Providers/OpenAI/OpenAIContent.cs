using System.Text;
using System.Text.Json;

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
}
