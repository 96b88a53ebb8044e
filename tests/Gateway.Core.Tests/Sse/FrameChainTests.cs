using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Gateway.Core.Errors;
using Gateway.Core.Sse;
using Gateway.Providers.Anthropic;
using Gateway.Providers.Gemini;

namespace Gateway.Core.Tests.Sse;

/// <summary>Stages of a streamed answer in the one relay loop: frames split once, passed on whole, failures as values.</summary>
public class FrameChainTests
{
    private static async Task<(SseRelayResult Result, string Output)> Relay(string upstream, FrameChain chain)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var result = await SseRelay.RelayAsync(new MemoryStream(Encoding.UTF8.GetBytes(upstream)), pipe.Writer, chain, null, CancellationToken.None);
        await pipe.Writer.CompleteAsync();
        using var collected = new MemoryStream();
        await pipe.Reader.CopyToAsync(collected);
        return (result, Encoding.UTF8.GetString(collected.ToArray()));
    }

    private const string AnthropicEvents =
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":3,\"output_tokens\":0}}}\n\n" +
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n" +
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":1}}\n\n" +
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

    [Fact]
    public async Task ProviderEvents_BecomeCanonicalFrames_AndTheOutputReadsTheirUsage()
    {
        var chain = new FrameChain([new AnthropicUpstreamStream("m", 1, includeUsage: true)], new OpenAiFrameOutput(stripUsageChunk: false), "claude");
        var (result, output) = await Relay(AnthropicEvents, chain);
        Assert.Equal(SseRelayStatus.Completed, result.Status);
        Assert.Contains("\"content\":\"Hello\"", output, StringComparison.Ordinal);
        Assert.EndsWith("data: [DONE]\n\n", output, StringComparison.Ordinal);
        Assert.Equal((3, 1), (result.Usage?.PromptTokens, result.Usage?.CompletionTokens));
    }

    [Fact]
    public async Task AFormatWithoutAnEndMarker_FinishesWhenTheUpstreamCloses()
    {
        var chain = new FrameChain([new GeminiUpstreamStream("m", 1, includeUsage: false, "g")], new OpenAiFrameOutput(stripUsageChunk: false), "g");
        var (result, output) = await Relay("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}],\"role\":\"model\"},\"finishReason\":\"STOP\"}]}\n\n", chain);
        Assert.Equal(SseRelayStatus.Completed, result.Status);
        Assert.EndsWith("data: [DONE]\n\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MalformedProviderEvent_IsAFailureValue_AfterTheGoodFramesBeforeIt()
    {
        var chain = new FrameChain([new GeminiUpstreamStream("m", 1, includeUsage: false, "g")], new OpenAiFrameOutput(stripUsageChunk: false), "g");
        var (result, output) = await Relay(
            "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}],\"role\":\"model\"}}]}\n\ndata: {\"candidates\":oops\n\n", chain);
        Assert.Equal(SseRelayStatus.UpstreamFailed, result.Status);
        Assert.Equal(("upstream_error", 502), (result.Failure?.Type, result.Failure?.Status));
        Assert.Contains("malformed stream event", result.Failure!.Message, StringComparison.Ordinal);
        Assert.Contains("\"content\":\"Hi\"", output, StringComparison.Ordinal); // the good event got through first
        Assert.DoesNotContain("[DONE]", output, StringComparison.Ordinal);
    }

    /// <summary>Writes two frames for every frame it gets; fails on the frame that says "stop".</summary>
    private sealed class Doubler : IStreamTranslator
    {
        public bool Completed => false;
        public string? Error => null;
        public GatewayError? Failure { get; private set; }

        public void OnFrame(ReadOnlySpan<byte> frame, IBufferWriter<byte> output)
        {
            if (frame.IndexOf("stop"u8) >= 0)
            {
                Failure = GatewayError.BadRequest("stopped by a stage", "stage_stop");
                return;
            }
            output.Write(frame);
            output.Write(frame);
        }

        public void OnEnd(IBufferWriter<byte> output)
        {
        }
    }

    /// <summary>Records each frame it is handed, off the socket's thread or not, and passes it on.</summary>
    private sealed class Recorder : IAsyncStreamTranslator
    {
        public List<string> Frames { get; } = [];
        public List<bool> OnPool { get; } = [];
        public bool Completed => false;
        public string? Error => null;

        public void OnFrame(ReadOnlySpan<byte> frame, IBufferWriter<byte> output) => throw new InvalidOperationException("an asynchronous stage is called through OnFrameAsync");

        public async ValueTask OnFrameAsync(ReadOnlyMemory<byte> frame, IBufferWriter<byte> output)
        {
            OnPool.Add(Thread.CurrentThread.IsThreadPoolThread);
            await Task.Yield();
            Frames.Add(Encoding.UTF8.GetString(frame.Span));
            output.Write(frame.Span);
        }

        public void OnEnd(IBufferWriter<byte> output)
        {
        }
    }

    [Fact]
    public async Task EachStageGetsWholeFramesOneAtATime_AndAStageFailureStopsTheRestAsAValue()
    {
        var recorder = new Recorder();
        var chain = new FrameChain([new Doubler(), recorder], new OpenAiFrameOutput(stripUsageChunk: false), "p");
        Assert.True(chain.IsAsync);
        var (result, output) = await Relay("data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: stop\n\ndata: {\"c\":3}\n\n", chain);
        Assert.Equal(["data: {\"a\":1}\n\n", "data: {\"a\":1}\n\n", "data: {\"b\":2}\n\n", "data: {\"b\":2}\n\n"], recorder.Frames);
        Assert.Equal("data: {\"a\":1}\n\ndata: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: {\"b\":2}\n\n", output);
        Assert.Equal((SseRelayStatus.UpstreamFailed, "stage_stop", 2), (result.Status, result.Failure?.Code, result.FramesForwarded));
    }

    [Fact]
    public void AnAsynchronousStage_RunsOnThePool_WhenTheReadCompletedOnAnotherThread()
    {
        // A dedicated thread stands in for the runtime's epoll thread, where a read completes inline.
        var recorder = new Recorder();
        Exception? failure = null;
        var reader = new Thread(() =>
        {
            try
            {
                Relay("data: {}\n\ndata: [DONE]\n\n", new FrameChain([recorder], new OpenAiFrameOutput(false), "p")).GetAwaiter().GetResult();
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        });
        reader.Start();
        reader.Join();
        Assert.Null(failure);
        Assert.Equal(2, recorder.OnPool.Count);
        Assert.All(recorder.OnPool, onPool => Assert.True(onPool));
    }
}
