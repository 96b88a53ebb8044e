using System.Text;
using System.Text.Json;

namespace Gateway.Core.Caching;

/// <summary>
/// What the semantic cache compares in a canonical chat request: the text of its last message, a user's.
/// Everything else (the conversation before it, the parameters) must be the same for two requests to
/// be compared at all; that is their bucket's key. Prompts the embedder would cut short are not compared:
/// two long prompts that differ past the cut would look alike.
/// </summary>
public static class SemanticPrompt
{
    /// <summary>The longest prompt compared, in characters (all-MiniLM-L6-v2 reads 256 word pieces, roughly a thousand characters of English).</summary>
    public const int MaxChars = 1000;

    /// <summary>Parses the request and reads its prompt (see <see cref="Read(JsonElement)"/>).</summary>
    public static string? Read(ReadOnlySpan<byte> request)
    {
        try
        {
            using var document = CacheKey.Parse(request);
            return Read(document.RootElement);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The last message's text, when it is a user's and only text, and short enough.</summary>
    public static string? Read(JsonElement request)
    {
        if (request.ValueKind != JsonValueKind.Object || !request.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array) return null;
        int count = messages.GetArrayLength();
        if (count == 0) return null;
        var last = messages[count - 1];
        if (last.ValueKind != JsonValueKind.Object || !last.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String || !role.ValueEquals("user")) return null;
        if (!last.TryGetProperty("content", out var content)) return null;
        string? text = content.ValueKind switch
        {
            JsonValueKind.String => content.GetString(),
            JsonValueKind.Array => TextParts(content),
            _ => null,
        };
        return text is { Length: > 0 and <= MaxChars } && !string.IsNullOrWhiteSpace(text) ? text : null;
    }

    // Text parts only: an image or a file makes a prompt no text embedding can stand for.
    private static string? TextParts(JsonElement parts)
    {
        var text = new StringBuilder();
        foreach (var part in parts.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || !type.ValueEquals("text")
                || !part.TryGetProperty("text", out var value) || value.ValueKind != JsonValueKind.String) return null;
            if (text.Length > 0) text.Append('\n');
            text.Append(value.GetString());
        }
        return text.ToString();
    }

    /// <summary>Scales a vector to unit length (in place), so a dot product is its cosine; false for a zero or broken one.</summary>
    public static bool Normalize(float[] vector)
    {
        double sum = 0;
        foreach (float v in vector) sum += (double)v * v;
        if (!(sum > 0) || !double.IsFinite(sum)) return false;
        float scale = (float)(1 / Math.Sqrt(sum));
        for (int i = 0; i < vector.Length; i++) vector[i] *= scale;
        return true;
    }
}
