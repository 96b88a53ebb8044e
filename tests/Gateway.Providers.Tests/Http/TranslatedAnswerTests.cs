using System.Buffers;
using Gateway.Core.Errors;
using Gateway.Providers.Http;

namespace Gateway.Providers.Tests.Http;

public class TranslatedAnswerTests
{
    private sealed class RecordingTranslation : IAnswerTranslation
    {
        public bool? TranslatedOnPool { get; private set; }

        public GatewayError Error(int status, byte[] body, HttpResponseMessage response) => GatewayError.Internal("unexpected");
        public bool IsStream(HttpResponseMessage response) => false;
        public (Stream Body, Gateway.Core.Sse.IStreamTranslator? Translator) OpenStream(Stream upstream) => (upstream, null);

        public GatewayError? Translate(byte[] answer, IBufferWriter<byte> output)
        {
            TranslatedOnPool = Thread.CurrentThread.IsThreadPoolThread;
            output.Write("{}"u8);
            return null;
        }
    }

    [Theory]
    [InlineData(100 * 1024, true)] // large: off the thread the read completed on
    [InlineData(1024, false)]      // small: translated where it is, no hop
    public void LargeAnswers_AreTranslatedOnThePool(int size, bool onPool)
    {
        var translation = new RecordingTranslation();
        // A dedicated thread stands in for the epoll thread on which a socket read completes inline.
        Gateway.Core.Providers.UpstreamResult? result = null;
        var reader = new Thread(() =>
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "http://127.0.0.1/");
            var response = new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = new ByteArrayContent(new byte[size]) };
            result = TranslatedAnswer.ReadAsync(request, response, translation, "p", null, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        });
        reader.Start();
        reader.Join();
        Assert.NotNull(result?.Response);
        Assert.Equal(onPool, translation.TranslatedOnPool);
    }
}
