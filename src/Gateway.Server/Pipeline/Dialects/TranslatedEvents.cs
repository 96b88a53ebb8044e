using System.Buffers;
using Gateway.Core.Json;
using Gateway.Core.Routing;
using Gateway.Core.Sse;

namespace Gateway.Server.Pipeline.Dialects;

/// <summary>A canonical stream translated into a dialect's events: the output a translated dialect's stream goes through.</summary>
internal sealed class TranslatedEvents : ISseFrameOutput
{
    private readonly IDialectStreamTranslator translator;

    /// <param name="canonicalRequest">The request as sent, counted for a dialect that reports the prompt's tokens early.</param>
    public TranslatedEvents(IDialectStreamTranslator translator, ReadOnlyMemory<byte> canonicalRequest = default)
    {
        this.translator = translator;
        if (translator is IAsksPromptUsage asks) asks.PromptUsage = () => PromptUsage(canonicalRequest);
    }

    /// <summary>The provider's own translation ahead of this one, when its events are not canonical (what it learned early, its prompt count, can be read).</summary>
    public IStreamTranslator? Upstream { get; private set; }

    public void Translating(IStreamTranslator upstream) => Upstream = upstream;

    /// <summary>
    /// The prompt's side of the usage, for the dialects whose streams report it early (Anthropic's
    /// <c>message_start</c>, Gemini's every chunk): the provider's own count when its stream gave it first
    /// (Gemini, Anthropic), else the prompt counted with the tokenizer (an estimate; the provider's numbers
    /// come at the end). Until the tokenizer has loaded, a byte estimate: its first load must not stall a stream.
    /// </summary>
    private TokenUsage PromptUsage(ReadOnlyMemory<byte> canonicalRequest)
    {
        if (Upstream?.PromptUsage is { } counted) return counted;
        if (canonicalRequest.IsEmpty) return default;
        var request = canonicalRequest.Span;
        int prompt = PromptTokens.ReadyOrLoading() ? PromptTokens.Count(request).Prompt : PromptTokens.QuickEstimate(request);
        return new TokenUsage(prompt, 0, prompt, 0, 0);
    }

    public bool Completed => translator.Completed;

    public TokenUsage? Usage => translator.Usage is { TotalTokens: > 0 } usage ? usage : null;

    public bool OnFrame(ReadOnlySpan<byte> frame, IBufferWriter<byte> client) => translator.OnFrame(frame, client);

    // A final [DONE] without its blank line still ends the stream; any other leftover is a cut-off event.
    public bool OnTrailing(ReadOnlySpan<byte> rest, IBufferWriter<byte> client)
    {
        if (OpenAiFrameInspector.Inspect(rest, out _) != OpenAiFrameKind.Done) return false;
        translator.OnFrame(rest, client);
        return true;
    }
}
