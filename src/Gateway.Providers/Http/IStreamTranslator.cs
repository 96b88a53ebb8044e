using System.Buffers;

namespace Gateway.Providers.Http;

/// <summary>Turns a provider's stream, one SSE frame at a time, into OpenAI <c>chat.completion.chunk</c> frames.</summary>
public interface IStreamTranslator
{
    void OnFrame(ReadOnlySpan<byte> frame, IBufferWriter<byte> output);

    /// <summary>The upstream closed; a format without an end marker (Gemini) finishes here.</summary>
    void OnEnd(IBufferWriter<byte> output);

    /// <summary><c>[DONE]</c> has been written.</summary>
    bool Completed { get; }

    /// <summary>The provider reported a failure mid-stream.</summary>
    string? Error { get; }
}
