using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using Gateway.Core.Sse;

namespace Gateway.Benchmarks;

/// <summary>
/// Relaying one whole OpenAI stream (20 frames + [DONE], 6 KB) from the upstream body to the client's
/// pipe: frame boundaries found, usage frame inspected, bytes copied. Split variants feed the body in
/// small reads, as a network does.
/// </summary>
[MemoryDiagnoser]
public class SseRelayBenchmarks
{
    private byte[] _stream = [];
    private ChunkedReadStream _source = null!;
    private readonly DiscardingPipeWriter _sink = new();

    [Params(65536, 512, 64)]
    public int ReadSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _stream = BenchData.Stream;
        _source = new ChunkedReadStream(_stream);
    }

    [Benchmark]
    public async ValueTask<int> RelayWholeStream()
    {
        _source.Reset(ReadSize);
        var result = await SseRelay.RelayAsync(_source, _sink, stripUsageChunk: true, null, CancellationToken.None);
        return result.FramesForwarded;
    }

    [Benchmark]
    public int ScanFrames()
    {
        int frames = 0, at = 0, len;
        while ((len = SseFrameScanner.FindFrameEnd(_stream.AsSpan(at))) > 0)
        {
            OpenAiFrameInspector.Inspect(_stream.AsSpan(at, len), out _);
            at += len;
            frames++;
        }
        return frames;
    }

    private sealed class ChunkedReadStream(byte[] data) : Stream
    {
        private int _position;
        private int _piece;
        public void Reset(int piece) { _position = 0; _piece = piece; }
        public override int Read(Span<byte> buffer)
        {
            int n = Math.Min(Math.Min(_piece, buffer.Length), data.Length - _position);
            data.AsSpan(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => data.Length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>A client pipe that accepts everything at once, so only the relay's own cost is measured.</summary>
    private sealed class DiscardingPipeWriter : PipeWriter
    {
        private readonly byte[] _buffer = new byte[64 * 1024];
        public override void Advance(int bytes) { }
        public override Memory<byte> GetMemory(int sizeHint = 0) => _buffer;
        public override Span<byte> GetSpan(int sizeHint = 0) => _buffer;
        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(new FlushResult(false, false));
        public override void CancelPendingFlush() { }
        public override void Complete(Exception? exception = null) { }
    }
}
