using System.IO.Pipelines;
using System.Text;
using Gateway.Core.Sse;

namespace Gateway.Core.Tests.Sse;

public class SseRelayTests
{
    private const string Chunk1 = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n";
    private const string Chunk2 = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"héllo 👋\"}}]}\n\n";
    private const string Finish = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";
    private const string Usage = "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,\"total_tokens\":8}}\n\n";
    private const string Done = "data: [DONE]\n\n";

    [Fact]
    public async Task Relay_EverySplitPoint_ForwardsBytesUntouchedAndReadsUsage()
    {
        var input = Encoding.UTF8.GetBytes(Chunk1 + Chunk2 + Finish + Usage + Done);
        for (int split = 1; split < input.Length; split++)
        {
            var (result, output) = await RelayAsync(new SplitStream(input, split), stripUsage: false);
            Assert.Equal(SseRelayStatus.Completed, result.Status);
            Assert.Equal(input, output);
            Assert.Equal(new TokenUsage(5, 3, 8, 0, 0), result.Usage);
            Assert.Equal(5, result.FramesForwarded);
        }
    }

    [Fact]
    public async Task Relay_StripUsage_DropsOnlyTheUsageChunk()
    {
        var input = Encoding.UTF8.GetBytes(Chunk1 + Chunk2 + Finish + Usage + Done);
        var (result, output) = await RelayAsync(new SplitStream(input, 7), stripUsage: true);
        Assert.Equal(SseRelayStatus.Completed, result.Status);
        Assert.Equal(Chunk1 + Chunk2 + Finish + Done, Encoding.UTF8.GetString(output));
        Assert.Equal(8, result.Usage!.Value.TotalTokens); // still metered
    }

    [Fact]
    public async Task Relay_CrLfFraming_IsKept()
    {
        var input = Encoding.UTF8.GetBytes((Chunk1 + Finish + Done).Replace("\n", "\r\n"));
        var (result, output) = await RelayAsync(new SplitStream(input, 3), stripUsage: true);
        Assert.Equal(SseRelayStatus.Completed, result.Status);
        Assert.Equal(input, output);
    }

    [Fact]
    public async Task Relay_EndsWithoutDone_ReportsEndedEarlyAndHoldsBackPartialFrame()
    {
        var input = Encoding.UTF8.GetBytes(Chunk1 + Chunk2 + "data: {\"id\":\"c\",\"cho");
        var (result, output) = await RelayAsync(new SplitStream(input, 50), stripUsage: true);
        Assert.Equal(SseRelayStatus.UpstreamEndedEarly, result.Status);
        Assert.Equal(Chunk1 + Chunk2, Encoding.UTF8.GetString(output));
    }

    [Fact]
    public async Task Relay_DoneWithoutBlankLine_CompletesWithTerminatedFrame()
    {
        var input = Encoding.UTF8.GetBytes(Chunk1 + "data: [DONE]\n");
        var (result, output) = await RelayAsync(new SplitStream(input, 1000), stripUsage: true);
        Assert.Equal(SseRelayStatus.Completed, result.Status);
        Assert.Equal(Chunk1 + Done, Encoding.UTF8.GetString(output));
    }

    [Fact]
    public async Task Relay_ReadFails_ReportsUpstreamFailedAfterForwardingCompleteFrames()
    {
        var input = Encoding.UTF8.GetBytes(Chunk1 + Chunk2);
        var (result, output) = await RelayAsync(new SplitStream(input, 1000, failAtEnd: true), stripUsage: true);
        Assert.Equal(SseRelayStatus.UpstreamFailed, result.Status);
        Assert.IsType<IOException>(result.Error);
        Assert.Equal(Chunk1 + Chunk2, Encoding.UTF8.GetString(output));
    }

    [Fact]
    public async Task Relay_FrameLargerThanInitialBuffer_IsForwardedWhole()
    {
        string big = "data: {\"choices\":[{\"delta\":{\"content\":\"" + new string('x', 100_000) + "\"}}]}\n\n";
        var input = Encoding.UTF8.GetBytes(big + Done);
        var (result, output) = await RelayAsync(new SplitStream(input, 4096), stripUsage: true);
        Assert.Equal(SseRelayStatus.Completed, result.Status);
        Assert.Equal(input, output);
    }

    [Fact]
    public async Task Relay_DataCallback_RunsOnEveryReadThatBroughtBytes()
    {
        int calls = 0;
        var input = Encoding.UTF8.GetBytes(Chunk1 + Done);
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        await SseRelay.RelayAsync(new SplitStream(input, 5), pipe.Writer, true, () => calls++, CancellationToken.None);
        Assert.Equal((input.Length + 4) / 5, calls); // reads of 5 bytes, not one call per stream
    }

    private static async Task<(SseRelayResult Result, byte[] Output)> RelayAsync(Stream source, bool stripUsage)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var result = await SseRelay.RelayAsync(source, pipe.Writer, stripUsage, null, CancellationToken.None);
        await pipe.Writer.CompleteAsync();
        using var collected = new MemoryStream();
        await pipe.Reader.CopyToAsync(collected);
        return (result, collected.ToArray());
    }

    /// <summary>Hands out the data in pieces of a fixed size, like a network that splits frames anywhere.</summary>
    private sealed class SplitStream(byte[] data, int piece, bool failAtEnd = false) : Gateway.Providers.Http.ReadOnlyForwardStream
    {
        private int _position;
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public override int Read(Span<byte> buffer)
        {
            if (_position == data.Length)
            {
                if (failAtEnd) throw new IOException("connection reset");
                return 0;
            }
            int n = Math.Min(Math.Min(piece, buffer.Length), data.Length - _position);
            data.AsSpan(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));
    }
}
