using System.Buffers;
using System.Text.Json;
using Gateway.Core.Sse;
using Gateway.Providers.Http;
using Gateway.Providers.OpenAI;

namespace Gateway.Providers.Gemini;

/// <summary>
/// Gemini's <c>streamGenerateContent?alt=sse</c> chunks as OpenAI chunks. Gemini repeats the
/// cumulative <c>usageMetadata</c> on every chunk (only the last one counts) and has no end marker:
/// the finish chunk, usage and <c>[DONE]</c> are written when the upstream closes after a
/// <c>finishReason</c>. A <c>MALFORMED_FUNCTION_CALL</c> ends the stream as an error.
/// </summary>
public sealed class GeminiUpstreamStream(string model, long created, bool includeUsage, string provider) : IStreamTranslator
{
    private readonly OpenAIChunkWriter _chunks = new("chatcmpl-" + Guid.NewGuid().ToString("N"), created, model);
    private JsonElement? _usage;
    private bool _started;
    private int _toolCalls;
    private string? _finishReason;

    public bool Completed { get; private set; }
    public string? Error { get; private set; }

    /// <summary>From the first chunk's <c>usageMetadata</c>: Gemini counts the prompt before it answers.</summary>
    public TokenUsage? PromptUsage { get; private set; }

    public void OnFrame(ReadOnlySpan<byte> frame, IBufferWriter<byte> output)
    {
        try
        {
            OnFrameUnguarded(frame, output);
        }
        catch (Exception ex) when (ex is not System.Text.Json.JsonException && Http.JsonShape.IsMismatch(ex))
        {
            throw Http.JsonShape.MalformedEvent(ex);
        }
    }

    private void OnFrameUnguarded(ReadOnlySpan<byte> frame, IBufferWriter<byte> output)
    {
        if (!frame.StartsWith("data:"u8)) return;
        var payload = frame[5..].Trim(" \r\n"u8);
        if (payload.IsEmpty) return;
        var reader = new Utf8JsonReader(payload);
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        if (root.TryGetProperty("error", out var error))
        {
            Error = error.TryGetProperty("message", out var m) ? m.GetString() : "stream error";
            return;
        }
        if (!_started)
        {
            _started = true;
            if (root.TryGetProperty("responseId", out var rid)) _chunks.Id = "chatcmpl-" + rid.GetString();
            _chunks.Role(output);
        }
        // Cumulative on every chunk: only the last one counts.
        if (root.TryGetProperty("usageMetadata", out var usage) && usage.ValueKind == JsonValueKind.Object)
        {
            _usage = usage.Clone();
            if (PromptUsage is null && usage.TryGetProperty("promptTokenCount", out _))
            {
                var counted = GeminiUpstreamResponse.UsageOf(usage);
                PromptUsage = new TokenUsage(counted.PromptTokens, 0, counted.PromptTokens, counted.PromptTokensDetails?.CachedTokens ?? 0, 0);
            }
        }
        if (!root.TryGetProperty("candidates", out var candidates) || candidates.ValueKind != JsonValueKind.Array || candidates.GetArrayLength() == 0) return;
        var candidate = candidates[0];
        if (candidate.TryGetProperty("content", out var content) && content.TryGetProperty("parts", out var parts))
            foreach (var part in parts.EnumerateArray())
            {
                if (part.TryGetProperty("thought", out var thought) && thought.ValueKind == JsonValueKind.True) continue;
                if (part.TryGetProperty("text", out var t) && t.GetString() is { Length: > 0 } text)
                    _chunks.Content(output, text);
                if (part.TryGetProperty("functionCall", out var call))
                {
                    int index = _toolCalls++;
                    string id = GeminiToolIds.Create(index, part.TryGetProperty("thoughtSignature", out var sig) ? sig.GetString() : null);
                    string name = call.GetProperty("name").GetString()!;
                    string args = call.TryGetProperty("args", out var a) ? a.GetRawText() : "{}";
                    // Gemini sends a call whole: one delta with id, name and the complete arguments.
                    _chunks.ToolCall(output, index, id, name, args);
                }
            }
        if (candidate.TryGetProperty("finishReason", out var finish) && finish.ValueKind == JsonValueKind.String)
        {
            string reason = finish.GetString()!;
            _finishReason = GeminiUpstreamResponse.FinishReason(reason, _toolCalls > 0);
            if (_finishReason is null) Error = GeminiUpstreamResponse.MalformedCall(provider, reason).Message;
        }
    }

    public void OnEnd(IBufferWriter<byte> output)
    {
        if (Completed || _finishReason is null || Error is not null) return; // no finishReason: a cut-off stream
        _chunks.Finish(output, _finishReason);
        if (includeUsage && _usage is { } usage) _chunks.Usage(output, GeminiUpstreamResponse.UsageOf(usage));
        OpenAIChunkWriter.Done(output);
        Completed = true;
    }
}
