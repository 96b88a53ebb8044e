using System.Buffers;
using Gateway.Core.Json;
using Gateway.Core.Sse;

namespace Gateway.Server.Pipeline.Dialects;

/// <summary>A canonical stream translated into a dialect's events: the output a translated dialect's stream goes through.</summary>
internal sealed class TranslatedEvents(IDialectStreamTranslator translator) : ISseFrameOutput
{
    /// <summary>The provider's own translation ahead of this one, when its events are not canonical (what it learned early, its prompt count, can be read).</summary>
    public IStreamTranslator? Upstream { get; private set; }

    public void Translating(IStreamTranslator upstream) => Upstream = upstream;

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
