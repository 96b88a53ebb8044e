using System.Text;
using Gateway.Core.Sse;

namespace Gateway.Core.Tests.Sse;

public class SseFrameReaderTests
{
    [Fact]
    public async Task ReadAsync_UpstreamDrained_WaitsWithAZeroByteReadHoldingNoBuffer()
    {
        // Three frames that arrive one by one, as tokens do: each real read drains what was there.
        var frames = new[] { "data: a\n\n", "data: b\n\n", "data: [DONE]\n\n" };
        var upstream = new RecordingStream(frames.Select(Encoding.UTF8.GetBytes).ToArray());
        using var reader = new SseFrameReader(upstream);

        var seen = new List<string>();
        while (await reader.ReadAsync(CancellationToken.None) == SseReadResult.Data)
            while (reader.TryReadFrame(out var frame)) seen.Add(Encoding.UTF8.GetString(frame));

        Assert.Equal(frames, seen);
        // Before every real read a zero-byte one (the wait), and none holds a buffer across it.
        const int B = SseFrameReader.InitialBuffer;
        Assert.Equal([0, B, 0, B, 0, B, 0, B], upstream.Requested);
    }

    [Fact]
    public async Task ReadAsync_AfterAReadThatFilledTheBuffer_ReadsOnWithoutWaiting()
    {
        // Frames that fill the buffer exactly: more is probably waiting, so no zero-byte read in between.
        const int B = SseFrameReader.InitialBuffer;
        string frame = "data: " + new string('x', B - 8) + "\n\n";
        var upstream = new RecordingStream([Encoding.UTF8.GetBytes(frame + frame)]);
        using var reader = new SseFrameReader(upstream);

        int count = 0;
        while (await reader.ReadAsync(CancellationToken.None) == SseReadResult.Data)
            while (reader.TryReadFrame(out _)) count++;

        Assert.Equal(2, count);
        Assert.Equal([0, B, B, B], upstream.Requested);
    }

    [Fact]
    public async Task ReadAsync_PartialFrame_IsHeldAcrossReadsAndReportedAtTheEnd()
    {
        var upstream = new RecordingStream([Encoding.UTF8.GetBytes("data: a\n\ndata: unfini"), Encoding.UTF8.GetBytes("shed")]);
        using var reader = new SseFrameReader(upstream);

        var seen = new List<string>();
        while (await reader.ReadAsync(CancellationToken.None) == SseReadResult.Data)
            while (reader.TryReadFrame(out var frame)) seen.Add(Encoding.UTF8.GetString(frame));

        Assert.Equal(["data: a\n\n"], seen);
        Assert.Equal("data: unfinished", Encoding.UTF8.GetString(reader.Pending));
        // No wait while a partial frame is held: only the first read (nothing held yet) waited.
        const int B = SseFrameReader.InitialBuffer;
        Assert.Equal([0, B, B - 21, B - 25], upstream.Requested);
    }

    /// <summary>Hands out one piece per real read (a zero-byte read consumes nothing) and records every read's length.</summary>
    private sealed class RecordingStream(byte[][] pieces) : Gateway.Providers.Http.ReadOnlyForwardStream
    {
        private int _next;
        private int _offset;
        public List<int> Requested { get; } = [];

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Requested.Add(buffer.Length);
            if (buffer.Length == 0 || _next == pieces.Length) return ValueTask.FromResult(0);
            var piece = pieces[_next];
            int n = Math.Min(buffer.Length, piece.Length - _offset);
            piece.AsSpan(_offset, n).CopyTo(buffer.Span);
            _offset += n;
            if (_offset == piece.Length)
            {
                _next++;
                _offset = 0;
            }
            return ValueTask.FromResult(n);
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().Result;
    }
}
