using System.Buffers;
using System.Text;
using Gateway.Providers.Anthropic;
using Gateway.Providers.Gemini;
using Gateway.Providers.Http;

namespace Gateway.Providers.Tests.Http;

public class TranslatingStreamTests
{
    [Fact]
    public async Task MalformedProviderEvent_FailsTheStreamAsAnUpstreamFailure()
    {
        var upstream = new MemoryStream(Encoding.UTF8.GetBytes(
            "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}],\"role\":\"model\"}}]}\n\ndata: {\"candidates\":oops\n\n"));
        using var stream = new TranslatingStream(upstream, new GeminiUpstreamStream("m", 1, includeUsage: false, "g"));
        var buffer = new byte[64 * 1024];

        // The relay treats IOException as the provider failing (error frame), unlike a stray JsonException.
        var delivered = new StringBuilder();
        var error = await Assert.ThrowsAsync<IOException>(async () =>
        {
            int n;
            while ((n = await stream.ReadAsync(buffer)) > 0) delivered.Append(Encoding.UTF8.GetString(buffer, 0, n));
        });
        Assert.Contains("malformed stream event", error.Message, StringComparison.Ordinal);
        // The good event read together with the bad one still reached the reader, before the failure.
        Assert.Contains("\"content\":\"Hi\"", delivered.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WellFormedStream_TranslatesToTheEnd()
    {
        var upstream = new MemoryStream(Encoding.UTF8.GetBytes(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":3,\"output_tokens\":0}}}\n\n" +
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n" +
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":1}}\n\n" +
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
        using var stream = new TranslatingStream(upstream, new AnthropicUpstreamStream("m", 1, includeUsage: false));
        string text = await new StreamReader(stream).ReadToEndAsync();
        Assert.Contains("\"content\":\"Hello\"", text, StringComparison.Ordinal);
        Assert.EndsWith("data: [DONE]\n\n", text, StringComparison.Ordinal);
    }

    private sealed class ThreadRecorder : IStreamTranslator
    {
        public List<bool> OnPool { get; } = [];
        public bool Completed { get; private set; }
        public string? Error => null;

        public void OnFrame(ReadOnlySpan<byte> frame, IBufferWriter<byte> output)
        {
            OnPool.Add(Thread.CurrentThread.IsThreadPoolThread);
            output.Write(frame);
            Completed = frame.IndexOf("[DONE]"u8) >= 0;
        }

        public void OnEnd(IBufferWriter<byte> output)
        {
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void OffIoThread_TranslatesOnThePool_WhenTheReadCompletedOnAnotherThread(bool offIoThread)
    {
        // A dedicated thread stands in for the runtime's epoll thread, where a read completes inline.
        var translator = new ThreadRecorder();
        Exception? failure = null;
        var reader = new Thread(() =>
        {
            try
            {
                using var stream = new TranslatingStream(new MemoryStream("data: {}\n\ndata: [DONE]\n\n"u8.ToArray()), translator, offIoThread);
                var buffer = new byte[1024];
                while (stream.ReadAsync(buffer).AsTask().GetAwaiter().GetResult() > 0) { }
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        });
        reader.Start();
        reader.Join();
        Assert.Null(failure);
        Assert.Equal(2, translator.OnPool.Count);
        Assert.All(translator.OnPool, onPool => Assert.Equal(offIoThread, onPool));
    }
}
