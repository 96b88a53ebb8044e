using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Providers.Anthropic;

namespace Gateway.Providers.Tests.Anthropic;

public class AnthropicResponseTranslatorTests
{
    [Fact]
    public void Translate_Reasoning_BecomesAThinkingBlockFirst()
    {
        const string openAi = """
            {"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"42","reasoning_content":"Let me think."},"finish_reason":"stop"}]}
            """;
        var output = new ArrayBufferWriter<byte>();
        Assert.Null(AnthropicResponseTranslator.Translate(Encoding.UTF8.GetBytes(openAi), "m", output));
        var content = JsonDocument.Parse(output.WrittenMemory).RootElement.GetProperty("content");
        Assert.Equal(("thinking", "Let me think."), (content[0].GetProperty("type").GetString(), content[0].GetProperty("thinking").GetString()));
        Assert.Equal(("text", "42"), (content[1].GetProperty("type").GetString(), content[1].GetProperty("text").GetString()));
    }

    [Fact]
    public void Translate_TextAndToolCall_BecomeBlocksWithStopReasonAndUsage()
    {
        const string openAi = """
            {"id":"chatcmpl-1","object":"chat.completion","model":"gpt-x","choices":[{"index":0,"message":{"role":"assistant","content":"Checking.",
             "tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},"finish_reason":"tool_calls"}],
             "usage":{"prompt_tokens":20,"completion_tokens":7,"total_tokens":27,"prompt_tokens_details":{"cached_tokens":4}}}
            """;
        var output = new ArrayBufferWriter<byte>();
        Assert.Null(AnthropicResponseTranslator.Translate(Encoding.UTF8.GetBytes(openAi), "openai/gpt-x", output));
        var message = JsonDocument.Parse(output.WrittenMemory).RootElement;
        Assert.Equal("message", message.GetProperty("type").GetString());
        Assert.Equal("openai/gpt-x", message.GetProperty("model").GetString());
        Assert.Equal("msg_chatcmpl-1", message.GetProperty("id").GetString());
        var content = message.GetProperty("content");
        Assert.Equal(("text", "Checking."), (content[0].GetProperty("type").GetString(), content[0].GetProperty("text").GetString()));
        Assert.Equal("tool_use", content[1].GetProperty("type").GetString());
        Assert.Equal("Paris", content[1].GetProperty("input").GetProperty("city").GetString());
        Assert.Equal("tool_use", message.GetProperty("stop_reason").GetString());
        var usage = message.GetProperty("usage");
        Assert.Equal((16, 7, 4), (usage.GetProperty("input_tokens").GetInt32(), usage.GetProperty("output_tokens").GetInt32(), usage.GetProperty("cache_read_input_tokens").GetInt32()));
    }

    [Theory]
    [InlineData("stop", "end_turn")]
    [InlineData("length", "max_tokens")]
    [InlineData("tool_calls", "tool_use")]
    [InlineData("content_filter", "refusal")]
    public void Translate_FinishReasons_MapToStopReasons(string finish, string stop)
    {
        string openAi = $$"""{"id":"x","choices":[{"message":{"role":"assistant","content":"a"},"finish_reason":"{{finish}}"}]}""";
        var output = new ArrayBufferWriter<byte>();
        AnthropicResponseTranslator.Translate(Encoding.UTF8.GetBytes(openAi), "m", output);
        Assert.Equal(stop, JsonDocument.Parse(output.WrittenMemory).RootElement.GetProperty("stop_reason").GetString());
    }

    [Fact]
    public void Translate_NotJson_Is502()
    {
        var error = AnthropicResponseTranslator.Translate("<html>"u8.ToArray(), "m", new ArrayBufferWriter<byte>());
        Assert.Equal(502, error!.Status);
    }
}
