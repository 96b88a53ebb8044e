using System.Buffers;
using Gateway.Core.Sse;
using Gateway.Server.FunctionalTests.Infrastructure;
using Gateway.Server.Pipeline.Dialects;

namespace Gateway.Server.FunctionalTests.Pipeline;

/// <summary>What the gateway counts of an answer OpenAI's Responses API gives back untouched.</summary>
public class ResponsesDialectTests
{
    [Fact]
    public void NativeAnswer_UsageWithItsDetails_IsRead()
    {
        var answer = """{"id":"resp_1","object":"response","output":[{"type":"message","content":[{"type":"output_text","text":"usage"}]}],"usage":{"input_tokens":8,"input_tokens_details":{"cached_tokens":3},"output_tokens":5,"output_tokens_details":{"reasoning_tokens":2},"total_tokens":13}}"""u8;
        Assert.True(new ResponsesDialect().TryReadNativeUsage(answer, out var usage));
        Assert.Equal(new TokenUsage(8, 5, 13, 3, 2), usage);
        Assert.False(new ResponsesDialect().TryReadNativeUsage("""{"id":"resp_1","output":[]}"""u8, out _));
    }

    [Fact]
    public void NativeStream_EndsAtTheTerminalEvent_WithItsUsage()
    {
        var output = new ResponsesDialect().NativeStreamOutput();
        var client = new ArrayBufferWriter<byte>();
        foreach (var frame in TestUpstream.ResponsesEvents("hi").Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            Assert.False(output.Completed);
            output.OnFrame(System.Text.Encoding.UTF8.GetBytes(frame + "\n\n"), client);
        }
        Assert.True(output.Completed);
        Assert.Equal(new TokenUsage(8, 2, 10, 0, 0), output.Usage);
        Assert.Equal(TestUpstream.ResponsesEvents("hi"), System.Text.Encoding.UTF8.GetString(client.WrittenSpan));
    }
}
