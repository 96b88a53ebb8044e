using System.Text;
using System.Text.Json;

namespace Gateway.Providers.Mock;

/// <summary>What the mock reads from an OpenAI-shaped request.</summary>
internal sealed record MockRequest(string LastUserText, int PromptTokens, int? MaxTokens, bool IncludeUsage, IReadOnlyList<string> Inputs, int? Dimensions, bool Base64)
{
    public static MockRequest ParseChat(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        using var doc = JsonDocument.ParseValue(ref reader);
        var root = doc.RootElement;
        string last = "";
        int promptChars = 0;
        if (root.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array)
        {
            foreach (var message in messages.EnumerateArray())
            {
                string text = message.TryGetProperty("content", out var content) ? TextOf(content) : "";
                promptChars += text.Length;
                if (message.TryGetProperty("role", out var role) && role.ValueEquals("user"u8)) last = text;
            }
        }
        int? max = null;
        foreach (var name in new[] { "max_completion_tokens", "max_tokens" })
            if (root.TryGetProperty(name, out var m) && m.ValueKind == JsonValueKind.Number && m.TryGetInt32(out int v)) { max = v; break; }
        bool usage = root.TryGetProperty("stream_options", out var so) && so.ValueKind == JsonValueKind.Object
            && so.TryGetProperty("include_usage", out var iu) && iu.ValueKind == JsonValueKind.True;
        return new MockRequest(last, MockTokens.Count(promptChars), max, usage, [], null, false);
    }

    public static MockRequest ParseEmbeddings(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        using var doc = JsonDocument.ParseValue(ref reader);
        var root = doc.RootElement;
        var inputs = new List<string>();
        if (root.TryGetProperty("input", out var input))
        {
            if (input.ValueKind == JsonValueKind.String) inputs.Add(input.GetString()!);
            else if (input.ValueKind == JsonValueKind.Array)
                foreach (var item in input.EnumerateArray())
                    inputs.Add(item.ValueKind == JsonValueKind.String ? item.GetString()! : item.GetRawText());
        }
        int? dims = root.TryGetProperty("dimensions", out var d) && d.ValueKind == JsonValueKind.Number && d.TryGetInt32(out int dv) ? dv : null;
        bool base64 = root.TryGetProperty("encoding_format", out var ef) && ef.ValueEquals("base64"u8);
        int chars = inputs.Sum(s => s.Length);
        return new MockRequest("", MockTokens.Count(chars), null, false, inputs, dims, base64);
    }

    private static string TextOf(JsonElement content)
    {
        if (content.ValueKind == JsonValueKind.String) return content.GetString()!;
        if (content.ValueKind != JsonValueKind.Array) return "";
        var text = new StringBuilder();
        foreach (var part in content.EnumerateArray())
            if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
                text.Append(t.GetString());
        return text.ToString();
    }
}
