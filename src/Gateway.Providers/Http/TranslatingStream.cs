using System.Buffers;
using System.Runtime.ExceptionServices;
using Gateway.Core.Sse;
using Gateway.Core.Threading;

namespace Gateway.Providers.Http;

/// <summary>
/// Reads a provider's SSE stream and hands out the OpenAI frames its translator makes of it, as each
/// upstream read arrives: the gateway's relay downstream sees an ordinary OpenAI stream.
/// </summary>
/// <param name="offIoThread">
/// Translate on the thread pool, not on the socket's epoll thread where the read may complete
/// inline: for translators that may take long (a JavaScript policy's <c>onChunk</c>).
/// </param>
public sealed class TranslatingStream(Stream upstream, IStreamTranslator translator, bool offIoThread = false) : ReadOnlyForwardStream
{
    private readonly SseFrameReader _reader = new(upstream);
    private readonly ArrayBufferWriter<byte> _pending = new(4096);
    private int _offset;
    // How much of _pending may be handed out: all of it, unless a frame failed part-way.
    private int _end;
    // The frames translated before the failing one in the same read.
    private int _good;
    // A failure that comes after frames already translated: they are handed out first, then it is thrown.
    private ExceptionDispatchInfo? _failure;
    private bool _ended;
    // For an asynchronous translator: the frames of one read, copied out of the reader's buffer, which
    // the next read reuses.
    private readonly ArrayBufferWriter<byte>? _frames = translator is IAsyncStreamTranslator ? new(4096) : null;
    private readonly List<(int Start, int Length)>? _bounds = translator is IAsyncStreamTranslator ? [] : null;

    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        while (_offset == _end)
        {
            _failure?.Throw();
            _pending.ResetWrittenCount();
            _offset = _end = _good = 0;
            if (translator.Completed || _ended) return 0;
            var read = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (read == SseReadResult.FrameTooLarge) throw new IOException("a provider stream event exceeded the size limit");
            if (offIoThread) await IoThread.Leave();
            try
            {
                if (translator is IAsyncStreamTranslator asynchronous)
                {
                    _frames!.ResetWrittenCount();
                    _bounds!.Clear();
                    if (read == SseReadResult.End)
                    {
                        if (!_reader.Pending.Trim("\r\n "u8).IsEmpty) Copy(_reader.Pending);
                    }
                    else
                    {
                        while (_reader.TryReadFrame(out var frame)) Copy(frame);
                    }
                    foreach (var (start, length) in _bounds) await TranslateAsync(asynchronous, _frames.WrittenMemory.Slice(start, length)).ConfigureAwait(false);
                }
                if (read == SseReadResult.End)
                {
                    _ended = true;
                    // A last event without its blank line still counts.
                    if (_frames is null && !_reader.Pending.Trim("\r\n "u8).IsEmpty) Translate(_reader.Pending);
                    translator.OnEnd(_pending); // without [DONE] the relay reports a truncated stream
                }
                else
                {
                    if (_frames is null) while (_reader.TryReadFrame(out var frame)) Translate(frame);
                    if (translator.Error is { } error) throw new IOException($"the provider reported an error mid-stream: {error}");
                }
                _end = _pending.WrittenCount;
            }
            catch (IOException ex) when (_good > 0)
            {
                // Frames before the failure reach the client, then the failure does.
                _failure = ExceptionDispatchInfo.Capture(ex);
                _end = _good;
            }
        }
        int n = Math.Min(destination.Length, _end - _offset);
        _pending.WrittenSpan.Slice(_offset, n).CopyTo(destination.Span);
        _offset += n;
        return n;
    }

    /// <summary>A provider event that is not the JSON it should be fails the stream like a broken connection.</summary>
    private void Translate(ReadOnlySpan<byte> frame)
    {
        try
        {
            translator.OnFrame(frame, _pending);
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new IOException($"the provider sent a malformed stream event: {ex.Message}", ex);
        }
        _good = _pending.WrittenCount;
    }

    private void Copy(ReadOnlySpan<byte> frame)
    {
        _bounds!.Add((_frames!.WrittenCount, frame.Length));
        _frames.Write(frame);
    }

    private async ValueTask TranslateAsync(IAsyncStreamTranslator asynchronous, ReadOnlyMemory<byte> frame)
    {
        try
        {
            await asynchronous.OnFrameAsync(frame, _pending).ConfigureAwait(false);
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new IOException($"the provider sent a malformed stream event: {ex.Message}", ex);
        }
        _good = _pending.WrittenCount;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _reader.Dispose();
            upstream.Dispose();
        }
        base.Dispose(disposing);
    }
}
