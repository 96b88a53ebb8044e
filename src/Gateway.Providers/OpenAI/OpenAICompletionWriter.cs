using System.Buffers;
using System.Text.Json;

namespace Gateway.Providers.OpenAI;

/// <summary>One tool call of an answer, arguments already a JSON string.</summary>
internal readonly record struct OpenAIToolCall(string Id, string Name, string Arguments);

/// <summary>Writes an OpenAI <c>chat.completion</c> for the translators of non-OpenAI answers.</summary>
internal static class OpenAICompletionWriter
{
    /// <param name="writeUsage">Writes the <c>usage</c> property, or null when the provider reported none.</param>
    public static void Write(IBufferWriter<byte> output, string id, long created, string model, string content, string? reasoning,
        IReadOnlyList<OpenAIToolCall> toolCalls, string finishReason, Action<Utf8JsonWriter>? writeUsage)
    {
        using var w = new Utf8JsonWriter(output);
        w.WriteStartObject();
        w.WriteString("id"u8, id);
        w.WriteString("object"u8, "chat.completion"u8);
        w.WriteNumber("created"u8, created);
        w.WriteString("model"u8, model);
        w.WriteStartArray("choices"u8);
        w.WriteStartObject();
        w.WriteNumber("index"u8, 0);
        w.WriteStartObject("message"u8);
        w.WriteString("role"u8, "assistant"u8);
        // OpenAI sends content null when the answer is only tool calls.
        if (content.Length > 0 || toolCalls.Count == 0) w.WriteString("content"u8, content);
        else w.WriteNull("content"u8);
        if (!string.IsNullOrEmpty(reasoning)) w.WriteString("reasoning_content"u8, reasoning);
        if (toolCalls.Count > 0)
        {
            w.WriteStartArray("tool_calls"u8);
            foreach (var call in toolCalls)
            {
                w.WriteStartObject();
                w.WriteString("id"u8, call.Id);
                w.WriteString("type"u8, "function"u8);
                w.WriteStartObject("function"u8);
                w.WriteString("name"u8, call.Name);
                w.WriteString("arguments"u8, call.Arguments);
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteNull("refusal"u8);
        w.WriteEndObject();
        w.WriteNull("logprobs"u8);
        w.WriteString("finish_reason"u8, finishReason);
        w.WriteEndObject();
        w.WriteEndArray();
        writeUsage?.Invoke(w);
        w.WriteEndObject();
    }
}
