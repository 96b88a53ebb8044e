using System.Buffers;
using System.Text;
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
public sealed class GeminiStreamTranslator(string model) : IDialectStreamTranslator
{
    private readonly ArrayBufferWriter<byte> _json = new(512);
    private readonly SortedDictionary<int, (string Id, string Name, StringBuilder Arguments)> _calls = [];
    private string _responseId = "";
    private string? _finishReason;
    private Usage? _usage;
    private TokenUsage? _prompt;

    /// <summary>
    /// The prompt's side of the usage, asked once with the first frame: Gemini reports <c>promptTokenCount</c> on
    /// every chunk, while OpenAI's usage comes last. The exact numbers still follow on the last frame. Unset: none.
    /// </summary>
    public Func<TokenUsage>? PromptUsage { get; init; }

    /// <summary>The upstream's <c>[DONE]</c> was seen and the last frame written.</summary>
    public bool Completed { get; private set; }

    /// <summary>What the upstream reported, for the record.</summary>
    public TokenUsage Usage => _usage is { } u
        ? new(u.PromptTokens, u.CompletionTokens, u.TotalTokens, u.PromptTokensDetails?.CachedTokens ?? 0, u.CompletionTokensDetails?.ReasoningTokens ?? 0)
        : default;

    /// <summary>Translates one upstream frame; returns whether anything was written.</summary>
    public bool OnFrame(ReadOnlySpan<byte> frame, IBufferWriter<byte> output)
    {
        try
        {
            return OnFrameUnguarded(frame, output);
        }
        catch (Exception ex) when (ex is not JsonException && Http.JsonShape.IsMismatch(ex))
        {
            throw Http.JsonShape.MalformedEvent(ex);
        }
    }

    private bool OnFrameUnguarded(ReadOnlySpan<byte> frame, IBufferWriter<byte> output)
    {
        if (!frame.StartsWith("data:"u8)) return false; // comments, keep-alives
        var payload = frame[5..].Trim(" \r\n"u8);
        if (payload.SequenceEqual("[DONE]"u8)) return Finish(output);
        var chunk = JsonSerializer.Deserialize(payload, ProtocolJson.Default.ChatCompletionChunk)
            ?? throw new JsonException("a stream chunk must be a JSON object");
        if (_responseId.Length == 0) _responseId = chunk.Id.Length > 0 ? chunk.Id : Guid.NewGuid().ToString("N");
        if (chunk.Usage is { } usage) _usage = usage;
        if (chunk.Choices.Count == 0) return false;
        var choice = chunk.Choices[0];
        var delta = choice.Delta;
        foreach (var call in delta.ToolCalls ?? [])
        {
            if (!_calls.TryGetValue(call.Index, out var known))
                _calls[call.Index] = known = (call.Id ?? "", call.Function?.Name ?? "", new StringBuilder());
            if (call.Id is { Length: > 0 } id && known.Id.Length == 0) _calls[call.Index] = known = known with { Id = id };
            if (call.Function?.Name is { Length: > 0 } name && known.Name.Length == 0) _calls[call.Index] = known = known with { Name = name };
            known.Arguments.Append(call.Function?.Arguments);
        }
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

    private bool Finish(IBufferWriter<byte> output)
    {
        if (Completed) return false;
        Core.Errors.GatewayError? invalid = null;
        Frame(output, w =>
        {
            foreach (var (_, call) in _calls)
                invalid ??= GeminiResponseTranslator.FunctionCallPart(w, call.Id, call.Name, call.Arguments.ToString());
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
            w.WriteStartObject();
            w.WriteStartArray("candidates"u8);
            w.WriteStartObject();
            w.WriteStartObject("content"u8);
            w.WriteString("role"u8, "model"u8);
            w.WriteStartArray("parts"u8);
            parts(w);
            w.WriteEndArray();
            w.WriteEndObject();
            if (finish is not null) w.WriteString("finishReason"u8, finish);
            w.WriteNumber("index"u8, 0);
            w.WriteEndObject();
            w.WriteEndArray();
            if (finish is not null) GeminiResponseTranslator.WriteUsage(w, _usage);
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
