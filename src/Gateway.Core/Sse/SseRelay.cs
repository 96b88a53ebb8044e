using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Gateway.Core.Threading;

namespace Gateway.Core.Sse;

/// <summary>
/// Relays an SSE stream frame by frame. Each complete frame goes through the stream's
/// <see cref="ISseFrameOutput"/> (untouched, dropped, or through the stages of a <see cref="FrameChain"/>)
/// as soon as it is read, and the writer is flushed once per upstream read, so no frame waits for a
/// later one. The frame is split here once; stages pass whole frames on.
/// </summary>
public static class SseRelay
{
    public const int MaxFrameBytes = SseFrameReader.MaxFrameBytes;

    /// <summary>An OpenAI stream to an OpenAI client, the usage chunk dropped when <paramref name="stripUsageChunk"/>.</summary>
    public static ValueTask<SseRelayResult> RelayAsync(Stream upstream, PipeWriter client, bool stripUsageChunk, Action? onData, CancellationToken cancellationToken) =>
        RelayAsync(upstream, client, new OpenAiFrameOutput(stripUsageChunk), onData, cancellationToken);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<SseRelayResult> RelayAsync<TOutput>(
        Stream upstream, PipeWriter client, TOutput output, Action? onData, CancellationToken cancellationToken) where TOutput : class, ISseFrameOutput
    {
        using var reader = new SseFrameReader(upstream);
        // A stage that waits (a policy's onChunk) gets each frame as memory of its own, and runs off the socket's thread.
        var slow = output is IAsyncSseFrameOutput { IsAsync: true } asynchronous ? asynchronous : null;
        var copies = slow is null ? null : new ArrayBufferWriter<byte>(4096);
        var bounds = slow is null ? null : new List<(int Start, int Length)>();
        int frames = 0;
        long first = 0;
        while (true)
        {
            SseReadResult read;
            try
            {
                read = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (SseErrors.IsUpstreamFailure(ex))
            {
                return new SseRelayResult(SseRelayStatus.UpstreamFailed, output.Usage, frames, ex, first);
            }
            if (read == SseReadResult.FrameTooLarge)
                return new SseRelayResult(SseRelayStatus.FrameTooLarge, output.Usage, frames, null, first);
            // Every read that brought bytes: the first ends the wait for a first byte, each resets the idle clock.
            if (read == SseReadResult.Data) onData?.Invoke();

            int before = frames;
            try
            {
                if (read == SseReadResult.End)
                {
                    var rest = reader.Pending.TrimEnd("\r\n"u8);
                    if (!rest.IsEmpty)
                    {
                        if (!output.OnTrailing(rest, client))
                            return new SseRelayResult(SseRelayStatus.UpstreamEndedEarly, output.Usage, frames, null, first);
                        frames++;
                    }
                    if (output.Failure is null && output.OnEnd(client)) frames++;
                }
                else if (slow is not null)
                {
                    await IoThread.Leave();
                    copies!.ResetWrittenCount();
                    bounds!.Clear();
                    while (reader.TryReadFrame(out var frame))
                    {
                        bounds.Add((copies.WrittenCount, frame.Length));
                        copies.Write(frame);
                    }
                    foreach (var (start, length) in bounds)
                    {
                        if (await slow.OnFrameAsync(copies.WrittenMemory.Slice(start, length), client).ConfigureAwait(false)) frames++;
                        if (output.Failure is not null) break;
                    }
                }
                else
                {
                    WriteFrames(reader, client, output, ref frames);
                }
            }
            catch (JsonException ex)
            {
                // What was written before the bad frame still goes out with the error that follows.
                return new SseRelayResult(SseRelayStatus.UpstreamFailed, output.Usage, frames,
                    new IOException($"the provider sent a malformed stream event: {ex.Message}", ex), first);
            }
            if (before == 0 && frames != 0) first = System.Diagnostics.Stopwatch.GetTimestamp();
            if (output.Failure is { } failure)
                return new SseRelayResult(SseRelayStatus.UpstreamFailed, output.Usage, frames, null, first) { Failure = failure };
            if (frames != before && !await SseErrors.FlushAsync(client, cancellationToken).ConfigureAwait(false))
                return new SseRelayResult(SseRelayStatus.ClientGone, output.Usage, frames, null, first);
            if (read == SseReadResult.End)
                return new SseRelayResult(output.Completed ? SseRelayStatus.Completed : SseRelayStatus.UpstreamEndedEarly, output.Usage, frames, null, first);
        }
    }

    private static void WriteFrames<TOutput>(SseFrameReader reader, PipeWriter client, TOutput output, ref int frames) where TOutput : class, ISseFrameOutput
    {
        // The passthrough of every OpenAI stream: a sealed type called directly, not through the interface, per frame.
        if (output is OpenAiFrameOutput plain)
        {
            while (reader.TryReadFrame(out var frame))
                if (plain.OnFrame(frame, client)) frames++;
            return;
        }
        while (reader.TryReadFrame(out var frame))
        {
            if (output.OnFrame(frame, client)) frames++;
            if (output.Failure is not null) return;
        }
    }
}
