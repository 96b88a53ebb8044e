using System.Buffers;
using System.IO.Pipelines;

namespace Gateway.Core.Sse;

/// <summary>
/// Relays an OpenAI SSE stream frame by frame with the frame bytes untouched. One pooled buffer per
/// stream; complete frames go to the client as soon as they are read, and the writer is flushed once
/// per upstream read, so no frame waits for a later one. The usage chunk is read on the way and
/// dropped when the client did not ask for it (the gateway asked for it on the client's behalf).
/// </summary>
public static class SseRelay
{
    private const int InitialBuffer = 16 * 1024;
    /// <summary>No sane provider sends a single event this large; a bigger one is a broken upstream.</summary>
    public const int MaxFrameBytes = 8 * 1024 * 1024;

    public static async ValueTask<SseRelayResult> RelayAsync(
        Stream upstream, PipeWriter client, bool stripUsageChunk, Action? onFirstByte, CancellationToken cancellationToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(InitialBuffer);
        int start = 0, end = 0, frames = 0;
        bool first = true, sawDone = false;
        TokenUsage? usage = null;
        try
        {
            while (true)
            {
                if (end == buffer.Length)
                {
                    if (start > 0)
                    {
                        Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                        end -= start;
                        start = 0;
                    }
                    else
                    {
                        if (buffer.Length >= MaxFrameBytes)
                            return new SseRelayResult(SseRelayStatus.FrameTooLarge, usage, frames, null);
                        var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        Buffer.BlockCopy(buffer, 0, bigger, 0, end);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }
                }

                int read;
                try
                {
                    read = await upstream.ReadAsync(buffer.AsMemory(end), cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or OperationCanceledException or System.Net.Http.HttpRequestException or ObjectDisposedException)
                {
                    return new SseRelayResult(SseRelayStatus.UpstreamFailed, usage, frames, ex);
                }

                if (first && read > 0)
                {
                    first = false;
                    onFirstByte?.Invoke();
                }

                if (read == 0)
                {
                    // The upstream closed. A final frame without its blank line still counts when it is [DONE].
                    var rest = buffer.AsSpan(start, end - start);
                    if (!rest.Trim("\r\n "u8).IsEmpty)
                    {
                        if (OpenAiFrameInspector.Inspect(rest.TrimEnd("\r\n"u8), out _) == OpenAiFrameKind.Done)
                        {
                            client.Write(rest.TrimEnd("\r\n"u8));
                            client.Write("\n\n"u8);
                            frames++;
                            if (!await FlushAsync(client, cancellationToken).ConfigureAwait(false))
                                return new SseRelayResult(SseRelayStatus.ClientGone, usage, frames, null);
                            return new SseRelayResult(SseRelayStatus.Completed, usage, frames, null);
                        }
                        return new SseRelayResult(SseRelayStatus.UpstreamEndedEarly, usage, frames, null);
                    }
                    return new SseRelayResult(sawDone ? SseRelayStatus.Completed : SseRelayStatus.UpstreamEndedEarly, usage, frames, null);
                }

                end += read;
                bool wrote = false;
                int len;
                while ((len = SseFrameScanner.FindFrameEnd(buffer.AsSpan(start, end - start))) > 0)
                {
                    var frame = buffer.AsSpan(start, len);
                    start += len;
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
                if (start == end) start = end = 0;

                if (wrote && !await FlushAsync(client, cancellationToken).ConfigureAwait(false))
                    return new SseRelayResult(SseRelayStatus.ClientGone, usage, frames, null);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async ValueTask<bool> FlushAsync(PipeWriter client, CancellationToken cancellationToken)
    {
        try
        {
            var result = await client.FlushAsync(cancellationToken).ConfigureAwait(false);
            return !result.IsCompleted && !result.IsCanceled;
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            return false;
        }
    }
}
