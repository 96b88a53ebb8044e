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

    [Fact]
    public void RenameTopLevel_RenamesOnlyTheTopLevelProperty()
    {
        var json = """{"model":"m","messages":[{"role":"user","content":"\"max_tokens\": 5"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"properties":{"max_tokens":{"type":"integer"}}}}}],"max_tokens":100}"""u8;
        var output = new ArrayBufferWriter<byte>();
        Assert.True(RequestRewriter.RenameTopLevel(json, "max_tokens"u8, "max_completion_tokens"u8, output));
        string renamed = Encoding.UTF8.GetString(output.WrittenSpan);
        Assert.EndsWith(""","max_completion_tokens":100}""", renamed, StringComparison.Ordinal);
        Assert.Contains("""\"max_tokens\": 5""", renamed, StringComparison.Ordinal); // message text untouched
        Assert.Contains("""{"max_tokens":{"type":"integer"}}""", renamed, StringComparison.Ordinal); // nested schema untouched
        using var parsed = System.Text.Json.JsonDocument.Parse(output.WrittenMemory);
        Assert.False(parsed.RootElement.TryGetProperty("max_tokens", out _));
    }

    [Fact]
    public void RenameTopLevel_NothingToRename_OrTheNewNameTaken_WritesNothing()
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.False(RequestRewriter.RenameTopLevel("""{"model":"m"}"""u8, "max_tokens"u8, "max_completion_tokens"u8, output));
        Assert.False(RequestRewriter.RenameTopLevel("""{"max_tokens":1,"max_completion_tokens":2}"""u8, "max_tokens"u8, "max_completion_tokens"u8, output));
        Assert.Equal(0, output.WrittenCount);
    }
}
