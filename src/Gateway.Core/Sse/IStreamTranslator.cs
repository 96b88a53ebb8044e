using System.Buffers;
using Gateway.Core.Errors;

namespace Gateway.Core.Sse;

/// <summary>
/// One stage of a streamed answer, frame by frame: a provider's events into canonical
/// <c>chat.completion.chunk</c> frames, or canonical frames into canonical frames (a policy's
/// <c>onChunk</c>, placeholders put back). Stateful, one per stream. What it writes for a frame is
/// whole frames, each ended by a blank line.
/// </summary>
public interface IStreamTranslator
{
    void OnFrame(ReadOnlySpan<byte> frame, IBufferWriter<byte> output);

    /// <summary>The upstream closed; a format without an end marker (Gemini) finishes here.</summary>
    void OnEnd(IBufferWriter<byte> output);

    /// <summary><c>[DONE]</c> has been written.</summary>
    bool Completed { get; }

    /// <summary>The provider reported a failure mid-stream.</summary>
    string? Error { get; }

    /// <summary>This stage stopped the stream (a policy refused what it saw): the error the client gets, as a value.</summary>
    GatewayError? Failure => null;

    /// <summary>
    /// The prompt's side of the usage (prompt tokens, cached ones among them) as the provider counted it,
    /// once its stream has said so ahead of the usage at its end (Gemini repeats it on every chunk); null
    /// until then, and for providers that do not.
    /// </summary>
    TokenUsage? PromptUsage => null;
}

/// <summary>A stage whose work on a frame may wait (a policy's <c>onChunk</c> runs on a policy worker).</summary>
public interface IAsyncStreamTranslator : IStreamTranslator
{
    /// <param name="frame">Memory the stage may read until the returned task completes.</param>
    ValueTask OnFrameAsync(ReadOnlyMemory<byte> frame, IBufferWriter<byte> output);
}

/// <summary>Canonical chunks into one inbound dialect's stream events (Anthropic's, Gemini's, the Responses API's), frame by frame.</summary>
public interface IDialectStreamTranslator
{
    /// <summary>Translates one canonical frame; returns whether anything was written.</summary>
    /// <exception cref="System.Text.Json.JsonException">The frame is not a canonical chunk.</exception>
    bool OnFrame(ReadOnlySpan<byte> frame, IBufferWriter<byte> output);

    /// <summary>The canonical <c>[DONE]</c> was seen and the dialect's closing events written.</summary>
    bool Completed { get; }

    /// <summary>The usage the canonical stream reported (zero until it did).</summary>
    TokenUsage Usage { get; }
}

/// <summary>
/// A dialect whose stream reports the prompt's tokens before its end (Anthropic's <c>message_start</c>, Gemini's
/// every chunk), while a canonical stream's usage comes last: it asks for them once, when it first writes them.
/// </summary>
public interface IAsksPromptUsage
{
    Func<TokenUsage>? PromptUsage { get; set; }
}
