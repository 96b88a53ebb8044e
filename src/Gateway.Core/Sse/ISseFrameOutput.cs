using System.Buffers;
using Gateway.Core.Errors;

namespace Gateway.Core.Sse;

/// <summary>
/// What a relayed stream does with each complete upstream frame before the client sees it: forward it
/// as it is, drop it, or write something else (the stages of a <see cref="FrameChain"/>, then the
/// client's dialect). It also reads the stream's usage on the way and says whether the stream reached
/// its proper end. One per stream.
/// </summary>
public interface ISseFrameOutput
{
    /// <summary>Handles one frame (its blank line included); returns whether anything was written.</summary>
    /// <exception cref="System.Text.Json.JsonException">The frame is not what the upstream's format promises.</exception>
    bool OnFrame(ReadOnlySpan<byte> frame, IBufferWriter<byte> client);

    /// <summary>
    /// The upstream closed with <paramref name="rest"/> not ended by a blank line: written and true when
    /// it still ends the stream properly (a final <c>[DONE]</c> without its newlines), else false.
    /// </summary>
    bool OnTrailing(ReadOnlySpan<byte> rest, IBufferWriter<byte> client);

    /// <summary>The upstream closed: anything held back goes out now; returns whether anything was written.</summary>
    bool OnEnd(IBufferWriter<byte> client) => false;

    /// <summary>The stream reached its proper end (or the provider's own error event went to the client).</summary>
    bool Completed { get; }

    /// <summary>The usage the stream reported so far, if it did.</summary>
    TokenUsage? Usage { get; }

    /// <summary>A stage found the stream failed (a provider's error event, a malformed event, a policy's refusal): the relay stops with this.</summary>
    GatewayError? Failure => null;

    /// <summary>The provider's events reach this output through <paramref name="upstream"/>'s translation (called once, before any frame).</summary>
    void Translating(IStreamTranslator upstream) { }
}

/// <summary>An output with stages that may wait: the relay hands it each frame as memory it owns until the call completes.</summary>
public interface IAsyncSseFrameOutput : ISseFrameOutput
{
    /// <summary>Whether any stage waits; when none does, the relay calls <see cref="ISseFrameOutput.OnFrame"/> on the reader's buffer.</summary>
    bool IsAsync { get; }

    ValueTask<bool> OnFrameAsync(ReadOnlyMemory<byte> frame, IBufferWriter<byte> client);
}
