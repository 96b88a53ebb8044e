using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Core.Errors;
using Gateway.Core.Protocol;
using Gateway.Providers.OpenAI;

namespace Gateway.Providers.Gemini;

/// <summary>A Gemini <c>GenerateContentResponse</c> as an OpenAI <c>chat.completion</c>.</summary>
public static class GeminiUpstreamResponse
{
    /// <summary>Gemini <c>finishReason</c> to OpenAI <c>finish_reason</c>; null when the call must fail instead.</summary>
    public static string? FinishReason(string? reason, bool toolCalls) => reason switch
    {
        "MAX_TOKENS" => "length",
        "SAFETY" or "RECITATION" or "BLOCKLIST" or "PROHIBITED_CONTENT" or "SPII" or "IMAGE_SAFETY" => "content_filter",
        "MALFORMED_FUNCTION_CALL" or "UNEXPECTED_TOOL_CALL" => null,
        _ => toolCalls ? "tool_calls" : "stop",
    };

    public static GatewayError MalformedCall(string provider, string reason) =>
        new(502, "upstream_error", "upstream_malformed_function_call",
            $"Provider '{provider}' (Gemini) ended the answer with {reason}: the model produced a function call it could not complete.", ErrorSource.Upstream);

    public static GatewayError? Translate(ReadOnlySpan<byte> geminiBody, string model, long created, string provider, IBufferWriter<byte> output)
    {
        try
        {
            return TranslateUnguarded(geminiBody, model, created, provider, output);
        }
        catch (Exception ex) when (Http.JsonShape.IsMismatch(ex))
        {
            return Http.JsonShape.InvalidAnswer(ex);
        }
    }

    private static GatewayError? TranslateUnguarded(ReadOnlySpan<byte> geminiBody, string model, long created, string provider, IBufferWriter<byte> output)
    {
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(geminiBody);
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException ex)
        {
            return new GatewayError(502, "upstream_error", "upstream_invalid_response", $"The provider's answer is not valid JSON: {ex.Message}", ErrorSource.Upstream);
        }
        using (document)
        {
            var root = document.RootElement;
            var candidate = root.TryGetProperty("candidates", out var cs) && cs.ValueKind == JsonValueKind.Array && cs.GetArrayLength() > 0 ? cs[0] : default;
            var text = new StringBuilder();
            var calls = new List<ToolCall>();
            if (candidate.ValueKind == JsonValueKind.Object && candidate.TryGetProperty("content", out var content) && content.TryGetProperty("parts", out var parts))
                foreach (var part in parts.EnumerateArray())
                {
                    if (part.TryGetProperty("thought", out var thought) && thought.ValueKind == JsonValueKind.True) continue;
                    if (part.TryGetProperty("text", out var t)) text.Append(t.GetString());
                    if (part.TryGetProperty("functionCall", out var fc))
                        calls.Add(ToolCall.Of(GeminiToolIds.Create(calls.Count, part.TryGetProperty("thoughtSignature", out var sig) ? sig.GetString() : null),
                            fc.GetProperty("name").GetString()!, fc.TryGetProperty("args", out var args) ? args.GetRawText() : "{}"));
                }
            string? reason = candidate.ValueKind == JsonValueKind.Object && candidate.TryGetProperty("finishReason", out var fr) ? fr.GetString() : null;
            if (candidate.ValueKind != JsonValueKind.Object && root.TryGetProperty("promptFeedback", out var feedback) && feedback.TryGetProperty("blockReason", out var block))
                reason = "SAFETY"; // the prompt itself was blocked: no candidates at all
            string? finish = FinishReason(reason, calls.Count > 0);
            if (finish is null) return MalformedCall(provider, reason!);

            OpenAICompletionWriter.Write(output, ChatCompletion.Single(
                "chatcmpl-" + (root.TryGetProperty("responseId", out var id) ? id.GetString() : Guid.NewGuid().ToString("N")), created, model,
                ChatMessage.FromAssistant(text.ToString(), null, calls), finish,
                root.TryGetProperty("usageMetadata", out var usage) ? UsageOf(usage) : null));
        }
        return null;
    }

    internal static Usage UsageOf(JsonElement usage)
    {
        // Thinking tokens are billed as output: OpenAI counts reasoning inside completion_tokens.
        int thoughts = Int(usage, "thoughtsTokenCount");
        return Usage.Of(Int(usage, "promptTokenCount"), Int(usage, "candidatesTokenCount") + thoughts, Int(usage, "cachedContentTokenCount"), thoughts);
    }

    private static int Int(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : 0;
}
