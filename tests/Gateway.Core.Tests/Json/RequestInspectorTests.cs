using System.Text;
using Gateway.Core.Json;

namespace Gateway.Core.Tests.Json;

public class RequestInspectorTests
{
    private static (Gateway.Core.Errors.GatewayError? Error, RequestShape Shape) Inspect(string json, RequestKind kind = RequestKind.ChatCompletions)
    {
        var error = RequestInspector.Inspect(Encoding.UTF8.GetBytes(json), kind, out var shape);
        return (error, shape);
    }

    [Fact]
    public void Inspect_ValidChat_FindsModelAndStream()
    {
        const string json = "{\"model\":\"openai/gpt-4o\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        var (error, shape) = Inspect(json);
        Assert.Null(error);
        Assert.True(shape.Stream);
        Assert.False(shape.ClientWantsUsage);
        Assert.Equal(-1, shape.StreamOptionsStart);
        Assert.Equal("\"openai/gpt-4o\"", json[shape.ModelStart..shape.ModelEnd]);
        Assert.Equal('}', json[shape.RootEnd]);
        Assert.Equal(json.Length - 1, shape.RootEnd);
    }

    [Fact]
    public void Inspect_IncludeUsage_IsRecognised()
    {
        var (error, shape) = Inspect("{\"model\":\"m/x\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[{}]}");
        Assert.Null(error);
        Assert.True(shape.ClientWantsUsage);
    }

    [Theory]
    [InlineData("{\"model\":\"m/x\",\"messages\":[", "invalid_json")]
    [InlineData("", "invalid_json")]
    [InlineData("[1,2]", "invalid_json")]
    [InlineData("{\"model\":\"m/x\",\"messages\":[{}]} trailing", "invalid_json")]
    [InlineData("{\"messages\":[{}]}", "missing_model")]
    [InlineData("{\"model\":\"\",\"messages\":[{}]}", "invalid_model")]
    [InlineData("{\"model\":42,\"messages\":[{}]}", "invalid_model")]
    [InlineData("{\"model\":\"m/x\"}", "missing_messages")]
    [InlineData("{\"model\":\"m/x\",\"messages\":{}}", "invalid_messages")]
    [InlineData("{\"model\":\"m/x\",\"messages\":[]}", "invalid_messages")]
    [InlineData("{\"model\":\"m/x\",\"model\":\"m/y\",\"messages\":[{}]}", "duplicate_field")]
    [InlineData("{\"model\":\"m/x\",\"stream\":\"yes\",\"messages\":[{}]}", "invalid_stream")]
    [InlineData("{\"model\":\"m/x\",\"stream_options\":{\"include_usage\":true},\"messages\":[{}]}", "invalid_stream_options")]
    public void Inspect_BadChatBody_ReturnsBadRequestWithCode(string json, string code)
    {
        var (error, _) = Inspect(json);
        Assert.NotNull(error);
        Assert.Equal(400, error.Status);
        Assert.Equal(code, error.Code);
    }

    [Fact]
    public void Inspect_InvalidUtf8_IsRejected()
    {
        var body = Encoding.UTF8.GetBytes("{\"model\":\"m/x\",\"messages\":[{\"content\":\"a").Concat(new byte[] { 0xc3, 0x28, 0xff }).Concat("\"}]}"u8.ToArray()).ToArray();
        var error = RequestInspector.Inspect(body, RequestKind.ChatCompletions, out _);
        Assert.Equal("invalid_encoding", error?.Code);
    }

    [Fact]
    public void Inspect_EmbeddingsWithoutInput_IsRejected()
    {
        var (error, _) = Inspect("{\"model\":\"m/x\"}", RequestKind.Embeddings);
        Assert.Equal("missing_input", error?.Code);
        Assert.Null(Inspect("{\"model\":\"m/x\",\"input\":[\"a\"]}", RequestKind.Embeddings).Error);
    }

    [Fact]
    public void Inspect_DeeplyNestedSchema_IsAccepted()
    {
        string nested = string.Concat(Enumerable.Repeat("{\"a\":", 100)) + "1" + new string('}', 100);
        Assert.Null(Inspect("{\"model\":\"m/x\",\"messages\":[{}],\"tools\":[" + nested + "]}").Error);
    }
}
