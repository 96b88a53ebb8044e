using System.Buffers;
using System.Text.Json;
using Gateway.Core.Protocol;
using Gateway.Core.Sse;

namespace Gateway.Providers.Gemini;

/// <summary>
/// Turns an OpenAI <c>chat.completion.chunk</c> stream into Gemini's <c>streamGenerateContent?alt=sse</c>
/// frames as the chunks arrive: one <c>GenerateContentResponse</c> per text (or thinking) delta, then, once the
/// upstream says <c>[DONE]</c>, a last one with the function calls (whole: Gemini sends a call in one part,
/// OpenAI's arguments come in pieces), the <c>finishReason</c> and <c>usageMetadata</c>. Stateful, one per request.
/// Like Gemini's own streams, the frames before the last carry the prompt's side of <c>usageMetadata</c> when it is known.
/// </summary>
public sealed class GeminiStreamTranslator(string model) : Http.CanonicalChunkTranslator, IAsksPromptUsage
{
    private readonly ArrayBufferWriter<byte> _json = new(512);
    private readonly ToolCallFragments _calls = new();
    private string _responseId = "";
    private string? _finishReason;
    private TokenUsage? _prompt;

    /// <summary>
    /// The prompt's side of the usage, asked once with the first frame: Gemini reports <c>promptTokenCount</c> on
    /// every chunk, while OpenAI's usage comes last. The exact numbers still follow on the last frame. Unset: none.
    /// </summary>
    public Func<TokenUsage>? PromptUsage { get; set; }

    protected override bool OnChunk(ChatCompletionChunk chunk, IBufferWriter<byte> output)
    {
        if (_responseId.Length == 0) _responseId = chunk.Id.Length > 0 ? chunk.Id : Guid.NewGuid().ToString("N");
        if (chunk.Usage is { } usage) ReportedUsage = usage;
        if (chunk.Choices.Count == 0) return false;
        var choice = chunk.Choices[0];
        var delta = choice.Delta;
        _calls.Add(delta.ToolCalls);
        if (choice.FinishReason is { } finish) _finishReason = finish;
        bool thinking = !string.IsNullOrEmpty(delta.ReasoningContent);
        string? text = delta.Content is { Length: > 0 } content ? content : delta.Refusal is { Length: > 0 } refusal ? refusal : null;
        if (!thinking && text is null) return false;
        Frame(output, w =>
        {
            if (thinking) GeminiResponseTranslator.ThoughtPart(w, delta.ReasoningContent!);
            if (text is not null) GeminiResponseTranslator.TextPart(w, text);
        }, finish: null);
        return true;
    }

    protected override bool OnDone(IBufferWriter<byte> output)
    {
        if (Completed) return false;
        Core.Errors.GatewayError? invalid = null;
        Frame(output, w =>
        {
            foreach (var call in _calls.Calls)
                invalid ??= GeminiResponseTranslator.FunctionCallPart(w, call.Id, call.Function.Name, call.Function.Arguments);
            if (_calls.Count == 0) GeminiResponseTranslator.TextPart(w, "");
        }, GeminiResponseTranslator.FinishReason(_finishReason));
        if (invalid is not null) throw new JsonException(invalid.Message);
        Completed = true;
        return true;
    }

    /// <summary>One <c>data:</c> event: a candidate with the parts <paramref name="parts"/> writes, and on the last one the finish and usage.</summary>
    private void Frame(IBufferWriter<byte> output, Action<Utf8JsonWriter> parts, string? finish)
    {
        _json.ResetWrittenCount();
        using (var w = new Utf8JsonWriter(_json))
        {
            GeminiResponseTranslator.StartParts(w);
            parts(w);
            w.WriteEndArray();
            w.WriteEndObject();
            if (finish is not null) w.WriteString("finishReason"u8, finish);
            w.WriteNumber("index"u8, 0);
            w.WriteEndObject();
            w.WriteEndArray();
            if (finish is not null) GeminiResponseTranslator.WriteUsage(w, ReportedUsage);
            else WritePromptUsage(w);
            w.WriteString("modelVersion"u8, model);
            w.WriteString("responseId"u8, _responseId);
            w.WriteEndObject();
        }
        output.Write("data: "u8);
        output.Write(_json.WrittenSpan);
        output.Write("\r\n\r\n"u8);
    }

    private void WritePromptUsage(Utf8JsonWriter w)
    {
        _prompt ??= PromptUsage?.Invoke() ?? default;
        if (_prompt is not { PromptTokens: > 0 } prompt) return;
        w.WriteStartObject("usageMetadata"u8);
        w.WriteNumber("promptTokenCount"u8, prompt.PromptTokens);
        w.WriteNumber("totalTokenCount"u8, prompt.PromptTokens);
        if (prompt.CachedTokens > 0) w.WriteNumber("cachedContentTokenCount"u8, prompt.CachedTokens);
        w.WriteEndObject();
    }
}
