using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace Gateway.Core.Sse;

/// <summary>
/// Relays an OpenAI SSE stream frame by frame with the frame bytes untouched. Complete frames go to
/// the client as soon as they are read, and the writer is flushed once per upstream read, so no frame
/// waits for a later one. The usage chunk is read on the way and dropped when the client did not ask
/// for it (the gateway asked for it on the client's behalf).
/// </summary>
public static class SseRelay
{
    public const int MaxFrameBytes = SseFrameReader.MaxFrameBytes;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<SseRelayResult> RelayAsync(
        Stream upstream, PipeWriter client, bool stripUsageChunk, Action? onData, CancellationToken cancellationToken)
    {
        using var reader = new SseFrameReader(upstream);
        int frames = 0;
        bool sawDone = false;
        TokenUsage? usage = null;
        while (true)
        {
            SseReadResult read;
            try
            {
                read = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (SseErrors.IsUpstreamFailure(ex))
            {
                return new SseRelayResult(SseRelayStatus.UpstreamFailed, usage, frames, ex);
            }
            if (read == SseReadResult.FrameTooLarge)
                return new SseRelayResult(SseRelayStatus.FrameTooLarge, usage, frames, null);
            // Every read that brought bytes: the first ends the wait for a first byte, each resets the idle clock.
            if (read == SseReadResult.Data) onData?.Invoke();

            if (read == SseReadResult.End)
            {
                // A final [DONE] without its blank line still counts; any other leftover is a cut-off frame.
                var rest = reader.Pending.TrimEnd("\r\n"u8);
                if (!rest.IsEmpty)
                {
                    if (OpenAiFrameInspector.Inspect(rest, out _) != OpenAiFrameKind.Done)
                        return new SseRelayResult(SseRelayStatus.UpstreamEndedEarly, usage, frames, null);
                    client.Write(rest);
                    client.Write("\n\n"u8);
                    frames++;
                    sawDone = true;
                    if (!await SseErrors.FlushAsync(client, cancellationToken).ConfigureAwait(false))
                        return new SseRelayResult(SseRelayStatus.ClientGone, usage, frames, null);
                }
                return new SseRelayResult(sawDone ? SseRelayStatus.Completed : SseRelayStatus.UpstreamEndedEarly, usage, frames, null);
            }

            bool wrote = WriteFrames(reader, client, stripUsageChunk, ref frames, ref sawDone, ref usage);
            if (wrote && !await SseErrors.FlushAsync(client, cancellationToken).ConfigureAwait(false))
                return new SseRelayResult(SseRelayStatus.ClientGone, usage, frames, null);
        }
    }

    private static bool WriteFrames(SseFrameReader reader, PipeWriter client, bool stripUsageChunk, ref int frames, ref bool sawDone, ref TokenUsage? usage)
    {
        bool wrote = false;
        while (reader.TryReadFrame(out var frame))
        {
            var kind = OpenAiFrameInspector.Inspect(frame, out var frameUsage);
            if (kind is OpenAiFrameKind.UsageOnly or OpenAiFrameKind.ChunkWithUsage)
            {
                usage = frameUsage;
                if (kind == OpenAiFrameKind.UsageOnly && stripUsageChunk) continue;
            }
            else if (kind == OpenAiFrameKind.Done)
            {
                sawDone = true;
            }
            client.Write(frame);
            frames++;
            wrote = true;
        }
        return wrote;
    }
}
