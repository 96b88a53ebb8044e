using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Providers.Anthropic;

namespace Gateway.Providers.Tests.Anthropic;

public class AnthropicRequestTranslatorTests
{
    private static (JsonElement Body, List<string> Dropped) Translate(string anthropic, bool maxCompletionTokens = false)
    {
        var output = new ArrayBufferWriter<byte>();
        var dropped = new List<string>();
        var error = AnthropicRequestTranslator.Translate(Encoding.UTF8.GetBytes(anthropic), "gpt-x", maxCompletionTokens, output, dropped);
        Assert.Null(error);
        return (JsonDocument.Parse(output.WrittenMemory).RootElement.Clone(), dropped);
    }

    [Fact]
    public void Translate_SystemAndText_BecomeSystemAndUserMessages()
    {
        var (body, dropped) = Translate("""
            {"model":"openai/gpt-x","max_tokens":100,"system":[{"type":"text","text":"Be brief."}],"temperature":0.2,"top_k":5,
             "stop_sequences":["END"],"metadata":{"user_id":"u1"},
             "messages":[{"role":"user","content":"hi"}]}
            """);
        Assert.Equal("gpt-x", body.GetProperty("model").GetString());
        var messages = body.GetProperty("messages");
        Assert.Equal(("system", "Be brief."), (messages[0].GetProperty("role").GetString(), messages[0].GetProperty("content").GetString()));
        Assert.Equal(("user", "hi"), (messages[1].GetProperty("role").GetString(), messages[1].GetProperty("content").GetString()));
        Assert.Equal(100, body.GetProperty("max_tokens").GetInt32());
        Assert.Equal(0.2, body.GetProperty("temperature").GetDouble());
        Assert.Equal("END", body.GetProperty("stop")[0].GetString());
        Assert.Equal("u1", body.GetProperty("user").GetString());
        Assert.Equal(["top_k"], dropped);
    }

    [Fact]
    public void Translate_ToolRoundTrip_ArgumentsBecomeAStringAndResultsFollowTheCall()
    {
        var (body, _) = Translate("""
            {"model":"m","max_tokens":64,
             "tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],
             "tool_choice":{"type":"any","disable_parallel_tool_use":true},
             "messages":[
               {"role":"user","content":"weather?"},
               {"role":"assistant","content":[{"type":"text","text":"Let me look."},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]},
               {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"Sunny"}]},{"type":"text","text":"thanks"}]}]}
            """, maxCompletionTokens: true);
        var messages = body.GetProperty("messages");
        var call = messages[1].GetProperty("tool_calls")[0];
        Assert.Equal("Let me look.", messages[1].GetProperty("content").GetString());
        Assert.Equal("toolu_1", call.GetProperty("id").GetString());
        Assert.Equal("{\"city\":\"Paris\"}", call.GetProperty("function").GetProperty("arguments").GetString());
        Assert.Equal(("tool", "toolu_1", "Sunny"), (messages[2].GetProperty("role").GetString(), messages[2].GetProperty("tool_call_id").GetString(), messages[2].GetProperty("content").GetString()));
        Assert.Equal("thanks", messages[3].GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal("get_weather", body.GetProperty("tools")[0].GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("object", body.GetProperty("tools")[0].GetProperty("function").GetProperty("parameters").GetProperty("type").GetString());
        Assert.Equal("required", body.GetProperty("tool_choice").GetString());
        Assert.False(body.GetProperty("parallel_tool_calls").GetBoolean());
        Assert.Equal(64, body.GetProperty("max_completion_tokens").GetInt32());
    }

    [Fact]
    public void Translate_ImageBlock_BecomesDataUrlPart()
    {
        var (body, _) = Translate("""{"model":"m","max_tokens":9,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBOR"}},{"type":"text","text":"what is it?"}]}]}""");
        var parts = body.GetProperty("messages")[0].GetProperty("content");
        Assert.Equal("data:image/png;base64,iVBOR", parts[0].GetProperty("image_url").GetProperty("url").GetString());
    }

    [Fact]
    public void Translate_Stream_AsksForUsage()
    {
        var (body, _) = Translate("""{"model":"m","max_tokens":9,"stream":true,"messages":[{"role":"user","content":"x"}]}""");
        Assert.True(body.GetProperty("stream").GetBoolean());
        Assert.True(body.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
    }

    [Theory]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}]}""", "missing_max_tokens")]
    [InlineData("""{"model":"m","max_tokens":5,"messages":[{"role":"system","content":"x"}]}""", "invalid_messages")]
    [InlineData("""{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"video"}]}]}""", "invalid_messages")]
    [InlineData("""{"model":"m","max_tokens":5,"tools":[{"name":"t","input_schema":{}}],"tool_choice":"auto","messages":[{"role":"user","content":"x"}]}""", "invalid_tool_choice")]
    public void Translate_InvalidRequest_Is400(string anthropic, string code)
    {
        var error = AnthropicRequestTranslator.Translate(Encoding.UTF8.GetBytes(anthropic), "m", false, new ArrayBufferWriter<byte>(), []);
        Assert.Equal((400, code), (error!.Status, error.Code));
    }

    [Fact]
    public void Translate_OutputConfigFormat_BecomesAJsonSchemaResponseFormat_EffortIsReportedDropped()
    {
        var (body, dropped) = Translate("""
            {"model":"openai/gpt-x","max_tokens":100,"messages":[{"role":"user","content":"hi"}],
             "output_config":{"format":{"type":"json_schema","schema":{"type":"object","properties":{"echo":{"type":"string"}},"required":["echo"],"additionalProperties":false}},"effort":"low"}}
            """);
        var format = body.GetProperty("response_format");
        Assert.Equal("json_schema", format.GetProperty("type").GetString());
        Assert.Equal("output", format.GetProperty("json_schema").GetProperty("name").GetString());
        Assert.Equal("""{"type":"object","properties":{"echo":{"type":"string"}},"required":["echo"],"additionalProperties":false}""",
            format.GetProperty("json_schema").GetProperty("schema").GetRawText());
        Assert.Equal(["output_config.effort"], dropped);
    }

    [Theory]
    [InlineData("""{"format":{"type":"json_object"}}""")]
    [InlineData("""{"format":{"type":"json_schema"}}""")]
    [InlineData("""{"format":{"type":"json_schema","schema":"object"}}""")]
    [InlineData("\"json\"")]
    public void Translate_OutputConfigThatIsNotASchema_Is400(string config)
    {
        var error = AnthropicRequestTranslator.Translate(Encoding.UTF8.GetBytes(
            $$"""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"output_config":{{config}}}"""), "gpt-x", false, new ArrayBufferWriter<byte>(), []);
        Assert.Equal(400, error?.Status);
    }
}
