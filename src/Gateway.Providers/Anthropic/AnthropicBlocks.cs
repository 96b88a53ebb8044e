using System.Text.Json;

namespace Gateway.Providers.Anthropic;

/// <summary>Anthropic content blocks written as OpenAI structures, shared by both directions of translation.</summary>
internal static class AnthropicBlocks
{
    /// <summary>The <c>tool_use</c> blocks of <paramref name="blocks"/> as an OpenAI <c>tool_calls</c> array.</summary>
    public static void WriteToolCalls(Utf8JsonWriter w, JsonElement blocks)
    {
        w.WriteStartArray("tool_calls"u8);
        foreach (var block in blocks.EnumerateArray())
        {
            if (!block.TryGetProperty("type", out var t) || !t.ValueEquals("tool_use"u8)) continue;
            w.WriteStartObject();
            w.WriteString("id"u8, block.GetProperty("id").GetString());
            w.WriteString("type"u8, "function"u8);
            w.WriteStartObject("function"u8);
            w.WriteString("name"u8, block.GetProperty("name").GetString());
            // Anthropic carries the input as an object; OpenAI carries arguments as a JSON string.
            w.WriteString("arguments"u8, block.TryGetProperty("input", out var input) ? input.GetRawText() : "{}");
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }
}
