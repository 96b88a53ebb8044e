using System.Buffers;
using System.Text.Json;
using Gateway.Core.Errors;

namespace Gateway.Core.Sse;

/// <summary>
/// The stages a streamed answer goes through, composed in one relay loop: the provider's translation
/// to canonical frames (when its events are not canonical), then canonical transforms (policies'
/// <c>onChunk</c>, placeholders put back), then the client's output (its dialect, which also reads the
/// usage). The upstream's bytes are split into frames once, by the relay; each stage hands the next the
/// whole frames it wrote, one at a time. A stage that fails leaves its error here as a value: the frames
/// it let through before reach the client, then the relay ends the stream with the error.
/// </summary>
public sealed class FrameChain : IAsyncSseFrameOutput
{
    private readonly IStreamTranslator[] _stages;
    private readonly ArrayBufferWriter<byte>[] _written;
    private readonly ISseFrameOutput _output;
    private readonly string _provider;

    /// <param name="stages">In order; the provider's translation, when there is one, first.</param>
    /// <param name="output">What the client gets for each canonical frame.</param>
    /// <param name="provider">Who is blamed for a malformed event or an error event.</param>
    public FrameChain(IReadOnlyList<IStreamTranslator> stages, ISseFrameOutput output, string provider)
    {
        _stages = [.. stages];
        _written = [.. _stages.Select(_ => new ArrayBufferWriter<byte>(1024))];
        _output = output;
        _provider = provider;
        IsAsync = _stages.Any(s => s is IAsyncStreamTranslator);
    }

    public bool IsAsync { get; }

    public bool Completed => _output.Completed;

    public TokenUsage? Usage => _output.Usage;

    public GatewayError? Failure { get; private set; }

    public bool OnFrame(ReadOnlySpan<byte> frame, IBufferWriter<byte> client) => Push(0, frame, client);

    public ValueTask<bool> OnFrameAsync(ReadOnlyMemory<byte> frame, IBufferWriter<byte> client) => PushAsync(0, frame, client);

    // A final event without its blank line still counts: it is a frame like the others.
    public bool OnTrailing(ReadOnlySpan<byte> rest, IBufferWriter<byte> client)
    {
        Push(0, rest, client);
        return true;
    }

    public bool OnEnd(IBufferWriter<byte> client)
    {
        bool wrote = false;
        for (int level = 0; level < _stages.Length && Failure is null; level++)
        {
            var written = _written[level];
            written.ResetWrittenCount();
            _stages[level].OnEnd(written);
            wrote |= PushWritten(level, client);
        }
        return wrote;
    }

    private bool Push(int level, ReadOnlySpan<byte> frame, IBufferWriter<byte> client)
    {
        if (Failure is not null) return false;
        if (level == _stages.Length) return _output.OnFrame(frame, client);
        var written = _written[level];
        written.ResetWrittenCount();
        try
        {
            _stages[level].OnFrame(frame, written);
        }
        catch (JsonException ex)
        {
            Failure = Malformed(ex);
            return false;
        }
        bool wrote = PushWritten(level, client);
        CheckStage(level);
        return wrote;
    }

    private async ValueTask<bool> PushAsync(int level, ReadOnlyMemory<byte> frame, IBufferWriter<byte> client)
    {
        if (Failure is not null) return false;
        if (level == _stages.Length) return _output.OnFrame(frame.Span, client);
        var written = _written[level];
        written.ResetWrittenCount();
        try
        {
            if (_stages[level] is IAsyncStreamTranslator asynchronous) await asynchronous.OnFrameAsync(frame, written).ConfigureAwait(false);
            else _stages[level].OnFrame(frame.Span, written);
        }
        catch (JsonException ex)
        {
            Failure = Malformed(ex);
            return false;
        }
        bool wrote = false;
        // Depth first: this level's buffer is read to its end before the level runs again.
        for (var rest = written.WrittenMemory; !rest.IsEmpty && Failure is null;)
        {
            int length = FrameLength(rest.Span);
            wrote |= await PushAsync(level + 1, rest[..length], client).ConfigureAwait(false);
            rest = rest[length..];
        }
        CheckStage(level);
        return wrote;
    }

    /// <summary>What a stage wrote for one frame, passed on whole frame by whole frame.</summary>
    private bool PushWritten(int level, IBufferWriter<byte> client)
    {
        bool wrote = false;
        for (var rest = _written[level].WrittenSpan; !rest.IsEmpty && Failure is null;)
        {
            int length = FrameLength(rest);
            wrote |= Push(level + 1, rest[..length], client);
            rest = rest[length..];
        }
        return wrote;
    }

    private static int FrameLength(ReadOnlySpan<byte> written)
    {
        int end = written.IndexOf("\n\n"u8);
        return end < 0 ? written.Length : end + 2;
    }

    /// <summary>After what the stage let through went on: a failure it reported stops the stream.</summary>
    private void CheckStage(int level)
    {
        var stage = _stages[level];
        if (Failure is not null) return;
        if (stage.Failure is { } failure) Failure = failure;
        else if (stage.Error is { } error) Failure = GatewayError.UpstreamBroken(_provider, $"the provider reported an error mid-stream: {error}");
    }

    private GatewayError Malformed(JsonException ex) => GatewayError.UpstreamBroken(_provider, $"the provider sent a malformed stream event: {ex.Message}");
}
