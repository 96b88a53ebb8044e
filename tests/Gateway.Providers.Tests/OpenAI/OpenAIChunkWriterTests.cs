using System.Buffers;
using System.Text;
using Gateway.Providers.OpenAI;

namespace Gateway.Providers.Tests.OpenAI;

public class OpenAIChunkWriterTests
{
    [Fact]
    public void ContentJson_WritesTheSameFrameAsContent()
    {
        var writer = new OpenAIChunkWriter("chatcmpl-1", 1735689600, "claude-x");
        var slow = new ArrayBufferWriter<byte>();
        var fast = new ArrayBufferWriter<byte>();
        writer.Content(slow, "Hello, world");
        writer.ContentJson(fast, "Hello, world"u8);
        Assert.Equal(Encoding.UTF8.GetString(slow.WrittenSpan), Encoding.UTF8.GetString(fast.WrittenSpan));
    }

    [Fact]
    public void ContentJson_AfterTheIdChanges_CarriesTheNewId()
    {
        var writer = new OpenAIChunkWriter("chatcmpl-first", 1, "m");
        writer.ContentJson(new ArrayBufferWriter<byte>(), "a"u8); // the header is cached here
        writer.Id = "chatcmpl-second";
        var slow = new ArrayBufferWriter<byte>();
        var fast = new ArrayBufferWriter<byte>();
        writer.Content(slow, "b");
        writer.ContentJson(fast, "b"u8);
        Assert.Contains("\"id\":\"chatcmpl-second\"", Encoding.UTF8.GetString(fast.WrittenSpan));
        Assert.Equal(Encoding.UTF8.GetString(slow.WrittenSpan), Encoding.UTF8.GetString(fast.WrittenSpan));
    }
}
