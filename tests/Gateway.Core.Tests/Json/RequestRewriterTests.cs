using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Core.Json;

namespace Gateway.Core.Tests.Json;

public class RequestRewriterTests
{
    private static string Rewrite(string json, string upstreamModel, bool ensureUsage)
    {
        var body = Encoding.UTF8.GetBytes(json);
        Assert.Null(RequestInspector.Inspect(body, RequestKind.ChatCompletions, out var shape));
        var output = new ArrayBufferWriter<byte>();
        RequestRewriter.Rewrite(body, shape, Encoding.UTF8.GetBytes(upstreamModel), ensureUsage, output);
        Assert.True(output.WrittenCount <= RequestRewriter.MaxOutputLength(body.Length, upstreamModel.Length));
        var text = Encoding.UTF8.GetString(output.WrittenSpan);
        using var _ = JsonDocument.Parse(text); // always valid JSON
        return text;
    }

    [Fact]
    public void Rewrite_Model_ReplacesOnlyTheModelValue()
    {
        const string json = "{ \"messages\" : [{\"role\":\"user\",\"content\":\"x\"}],\n  \"model\": \"openai/gpt-4o\", \"temperature\":0.5 }";
        Assert.Equal(json.Replace("\"openai/gpt-4o\"", "\"gpt-4o\""), Rewrite(json, "gpt-4o", ensureUsage: false));
    }

    [Fact]
    public void Rewrite_StreamWithoutOptions_AppendsIncludeUsage()
    {
        const string json = "{\"model\":\"p/m\",\"stream\":true,\"messages\":[{}]}";
        Assert.Equal("{\"model\":\"m\",\"stream\":true,\"messages\":[{}],\"stream_options\":{\"include_usage\":true}}", Rewrite(json, "m", ensureUsage: true));
    }

    [Fact]
    public void Rewrite_StreamOptionsWithoutIncludeUsage_InsertsIt()
    {
        const string json = "{\"stream_options\":{\"x\":1},\"model\":\"p/m\",\"stream\":true,\"messages\":[{}]}";
        Assert.Equal("{\"stream_options\":{\"include_usage\":true,\"x\":1},\"model\":\"m\",\"stream\":true,\"messages\":[{}]}", Rewrite(json, "m", ensureUsage: true));
    }

    [Fact]
    public void Rewrite_EmptyStreamOptions_InsertsIt()
    {
        const string json = "{\"model\":\"p/m\",\"stream\":true,\"stream_options\":{},\"messages\":[{}]}";
        Assert.Equal("{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[{}]}", Rewrite(json, "m", ensureUsage: true));
    }

    [Fact]
    public void Rewrite_IncludeUsageFalse_FlipsIt()
    {
        const string json = "{\"model\":\"p/m\",\"stream\":true,\"stream_options\":{\"include_usage\":false},\"messages\":[{}]}";
        Assert.Equal("{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[{}]}", Rewrite(json, "m", ensureUsage: true));
    }

    [Fact]
    public void Rewrite_NullStreamOptions_ReplacesIt()
    {
        const string json = "{\"model\":\"p/m\",\"stream\":true,\"stream_options\":null,\"messages\":[{}]}";
        Assert.Equal("{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[{}]}", Rewrite(json, "m", ensureUsage: true));
    }

    [Fact]
    public void Rewrite_ClientAskedForUsage_LeavesOptionsAlone()
    {
        const string json = "{\"model\":\"p/m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[{}]}";
        Assert.Equal(json.Replace("p/m", "m"), Rewrite(json, "m", ensureUsage: true));
    }
}
