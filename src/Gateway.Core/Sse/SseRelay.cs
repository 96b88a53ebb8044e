using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Gateway.Core.Sse;

/// <summary>
/// Relays an SSE stream frame by frame. Each complete frame goes through the stream's
/// <see cref="ISseFrameOutput"/> (untouched, dropped or translated) as soon as it is read, and the
/// writer is flushed once per upstream read, so no frame waits for a later one. The frame is split
/// here once; an output never re-splits bytes.
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

            if (read == SseReadResult.End)
            {
                var rest = reader.Pending.TrimEnd("\r\n"u8);
                if (!rest.IsEmpty)
                {
                    if (!output.OnTrailing(rest, client))
                        return new SseRelayResult(SseRelayStatus.UpstreamEndedEarly, output.Usage, frames, null, first);
                    if (frames++ == 0) first = System.Diagnostics.Stopwatch.GetTimestamp();
                    if (!await SseErrors.FlushAsync(client, cancellationToken).ConfigureAwait(false))
                        return new SseRelayResult(SseRelayStatus.ClientGone, output.Usage, frames, null, first);
                }
                return new SseRelayResult(output.Completed ? SseRelayStatus.Completed : SseRelayStatus.UpstreamEndedEarly, output.Usage, frames, null, first);
            }

            int before = frames;
            try
            {
                WriteFrames(reader, client, output, ref frames);
            }
            catch (JsonException ex)
            {
                // What was written before the bad frame still goes out with the error that follows.
                return new SseRelayResult(SseRelayStatus.UpstreamFailed, output.Usage, frames,
                    new IOException($"the provider sent a malformed stream event: {ex.Message}", ex), first);
            }
            if (before == 0 && frames != 0) first = System.Diagnostics.Stopwatch.GetTimestamp();
            if (frames != before && !await SseErrors.FlushAsync(client, cancellationToken).ConfigureAwait(false))
                return new SseRelayResult(SseRelayStatus.ClientGone, output.Usage, frames, null, first);
        }
    }

    private static void WriteFrames<TOutput>(SseFrameReader reader, PipeWriter client, TOutput output, ref int frames) where TOutput : class, ISseFrameOutput
    {
        while (reader.TryReadFrame(out var frame))
            if (output.OnFrame(frame, client)) frames++;
    }
}
