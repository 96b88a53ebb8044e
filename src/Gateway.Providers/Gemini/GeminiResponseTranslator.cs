using System.Buffers;
using System.Text.Json;
using Gateway.Core.Errors;
using Gateway.Core.Protocol;

namespace Gateway.Providers.Gemini;

/// <summary>
/// An OpenAI <c>chat.completion</c> as a Gemini <c>GenerateContentResponse</c>: one candidate whose parts
/// are the text and a <c>functionCall</c> per tool call (arguments as an object, the call's id kept so the
/// client's <c>functionResponse</c> can name it), <c>finishReason</c>, and <c>usageMetadata</c>.
/// </summary>
public static class GeminiResponseTranslator
{
    public static GatewayError? Translate(ReadOnlyMemory<byte> openAiBody, string model, IBufferWriter<byte> output) =>
        Http.CanonicalAnswer.Translate(openAiBody, (model, output), static (completion, choice, state) => Write(completion, choice, state.model, state.output));

    private static GatewayError? Write(ChatCompletion completion, ChatChoice choice, string model, IBufferWriter<byte> output)
    {
        var message = choice.Message;

        using var w = new Utf8JsonWriter(output);
        StartParts(w);
        if (!string.IsNullOrEmpty(message.ReasoningContent)) ThoughtPart(w, message.ReasoningContent);
        foreach (var text in (ReadOnlySpan<string?>)[message.Text, message.Refusal])
            if (!string.IsNullOrEmpty(text)) TextPart(w, text);
        foreach (var call in message.ToolCalls ?? [])
            if (FunctionCallPart(w, call.Id, call.Function.Name, call.Function.Arguments) is { } error) return error;
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteString("finishReason"u8, FinishReason(choice.FinishReason));
        w.WriteNumber("index"u8, 0);
        w.WriteEndObject();
        w.WriteEndArray();
        WriteUsage(w, completion.Usage);
        w.WriteString("modelVersion"u8, model);
        w.WriteString("responseId"u8, completion.Id.Length > 0 ? completion.Id : Guid.NewGuid().ToString("N"));
        w.WriteEndObject();
        return null;
    }

    /// <summary>OpenAI's finish reason as Gemini's: a turn that calls tools ends with STOP, as Gemini's own do.</summary>
    public static string FinishReason(string? finish) => finish switch
    {
        "length" => "MAX_TOKENS",
        "content_filter" => "SAFETY",
        null or "stop" or "tool_calls" or "function_call" => "STOP",
        _ => "OTHER",
    };

    internal static void TextPart(Utf8JsonWriter w, string text)
    {
        w.WriteStartObject();
        w.WriteString("text"u8, text);
        w.WriteEndObject();
    }

    internal static void ThoughtPart(Utf8JsonWriter w, string thinking)
    {
        w.WriteStartObject();
        w.WriteString("text"u8, thinking);
        w.WriteBoolean("thought"u8, true);
        w.WriteEndObject();
    }

    /// <summary>A call whose arguments are not a JSON object cannot be a Gemini <c>functionCall</c>: the answer is the provider's fault.</summary>
    internal static GatewayError? FunctionCallPart(Utf8JsonWriter w, string id, string name, string arguments)
    {
        JsonDocument args;
        try
        {
            args = JsonDocument.Parse(string.IsNullOrWhiteSpace(arguments) ? "{}" : arguments);
        }
        catch (JsonException)
        {
            return new GatewayError(502, "upstream_error", "upstream_invalid_response", $"The provider's call of '{name}' has arguments that are not JSON.", ErrorSource.Upstream);
        }
        using (args)
        {
            if (args.RootElement.ValueKind != JsonValueKind.Object)
                return new GatewayError(502, "upstream_error", "upstream_invalid_response", $"The provider's call of '{name}' has arguments that are not a JSON object.", ErrorSource.Upstream);
            w.WriteStartObject();
            w.WriteStartObject("functionCall"u8);
            if (id.Length > 0) w.WriteString("id"u8, id);
            w.WriteString("name"u8, name);
            w.WritePropertyName("args"u8);
            args.RootElement.WriteTo(w);
            w.WriteEndObject();
            if (GeminiToolIds.SignatureOf(id) is { } signature) w.WriteString("thoughtSignature"u8, signature);
            w.WriteEndObject();
        }
        return null;
    }

    /// <summary>OpenAI's usage as <c>usageMetadata</c>: Gemini counts thinking apart from the candidates' tokens.</summary>
    /// <summary>Opens a <c>GenerateContentResponse</c> down to its one candidate's <c>content.parts</c>.</summary>
    internal static void StartParts(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteStartArray("candidates"u8);
        w.WriteStartObject();
        w.WriteStartObject("content"u8);
        w.WriteString("role"u8, "model"u8);
        w.WriteStartArray("parts"u8);
    }

    internal static void WriteUsage(Utf8JsonWriter w, Usage? usage)
    {
        if (usage is null) return;
        int reasoning = usage.CompletionTokensDetails?.ReasoningTokens ?? 0, cached = usage.PromptTokensDetails?.CachedTokens ?? 0;
        w.WriteStartObject("usageMetadata"u8);
        w.WriteNumber("promptTokenCount"u8, usage.PromptTokens);
        w.WriteNumber("candidatesTokenCount"u8, Math.Max(0, usage.CompletionTokens - reasoning));
        w.WriteNumber("totalTokenCount"u8, usage.PromptTokens + usage.CompletionTokens);
        if (cached > 0) w.WriteNumber("cachedContentTokenCount"u8, cached);
        if (reasoning > 0) w.WriteNumber("thoughtsTokenCount"u8, reasoning);
        w.WriteEndObject();
    }
}
