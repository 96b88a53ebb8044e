using System.Buffers;
using System.Text.Json;
using Gateway.Core.Errors;
using Gateway.Core.Protocol;

namespace Gateway.Providers.Anthropic;

/// <summary>An OpenAI <c>chat.completion</c> as an Anthropic <c>message</c>.</summary>
public static class AnthropicResponseTranslator
{
    public static GatewayError? Translate(ReadOnlyMemory<byte> openAiBody, string model, IBufferWriter<byte> output) =>
        Http.CanonicalAnswer.Translate(openAiBody, (model, output), static (completion, choice, state) => Write(completion, choice, state.model, state.output));

    private static GatewayError? Write(ChatCompletion completion, ChatChoice choice, string model, IBufferWriter<byte> output)
    {
        var message = choice.Message;

        using var w = new Utf8JsonWriter(output);
        w.WriteStartObject();
        w.WriteString("id"u8, "msg_" + (completion.Id.Length > 0 ? completion.Id : Guid.NewGuid().ToString("N")));
        w.WriteString("type"u8, "message"u8);
        w.WriteString("role"u8, "assistant"u8);
        w.WriteString("model"u8, model);
        w.WriteStartArray("content"u8);
        if (!string.IsNullOrEmpty(message.ReasoningContent))
        {
            // Anthropic clients read thinking blocks; the provider signed nothing, so the signature is empty.
            w.WriteStartObject();
            w.WriteString("type"u8, "thinking"u8);
            w.WriteString("thinking"u8, message.ReasoningContent);
            w.WriteString("signature"u8, ""u8);
            w.WriteEndObject();
        }
        foreach (var text in (ReadOnlySpan<string?>)[message.Text, message.Refusal])
            if (!string.IsNullOrEmpty(text))
            {
                w.WriteStartObject();
                w.WriteString("type"u8, "text"u8);
                w.WriteString("text"u8, text);
                w.WriteEndObject();
            }
        foreach (var call in message.ToolCalls ?? [])
        {
            w.WriteStartObject();
            w.WriteString("type"u8, "tool_use"u8);
            w.WriteString("id"u8, call.Id.Length > 0 ? call.Id : "toolu_" + Guid.NewGuid().ToString("N"));
            w.WriteString("name"u8, call.Function.Name);
            w.WritePropertyName("input"u8);
            WriteArguments(w, call.Function.Arguments);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteString("stop_reason"u8, AnthropicStopReasons.FromOpenAI(choice.FinishReason));
        w.WriteNull("stop_sequence"u8);
        WriteUsage(w, completion.Usage);
        w.WriteEndObject();
        return null;
    }

    /// <summary>Tool arguments arrive as a JSON string; Anthropic wants the object. Unparseable text is kept as a string field, not lost.</summary>
    internal static void WriteArguments(Utf8JsonWriter w, string? arguments)
    {
        if (string.IsNullOrWhiteSpace(arguments))
        {
            w.WriteStartObject();
            w.WriteEndObject();
            return;
        }
        try
        {
            using var parsed = JsonDocument.Parse(arguments);
            if (parsed.RootElement.ValueKind == JsonValueKind.Object)
            {
                parsed.RootElement.WriteTo(w);
                return;
            }
        }
        catch (JsonException)
        {
        }
        w.WriteStartObject();
        w.WriteString("_raw_arguments"u8, arguments);
        w.WriteEndObject();
    }

    internal static void WriteUsage(Utf8JsonWriter w, Usage? usage)
    {
        int prompt = usage?.PromptTokens ?? 0, cached = usage?.CachedTokens ?? 0;
        w.WriteStartObject("usage"u8);
        // Anthropic counts cache reads apart from input tokens.
        w.WriteNumber("input_tokens"u8, prompt - cached);
        w.WriteNumber("output_tokens"u8, usage?.CompletionTokens ?? 0);
        if (cached > 0) w.WriteNumber("cache_read_input_tokens"u8, cached);
        w.WriteEndObject();
    }
}
