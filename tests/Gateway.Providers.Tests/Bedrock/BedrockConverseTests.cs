using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Providers.Bedrock;

namespace Gateway.Providers.Tests.Bedrock;

public class BedrockConverseTests
{
    private static AwsEvent Event(string type, string json) => new("event", type, null, Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Request_ToolRoundTripSystemAndConfig()
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.Null(Canonical.Translate("""
            {"model":"m","max_tokens":40,"temperature":0.2,"stop":"END","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"weather"},
             {"role":"assistant","tool_calls":[{"id":"t1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
             {"role":"tool","tool_call_id":"t1","content":"Sunny"}],
             "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],"tool_choice":"required"}
            """, r => BedrockConverseRequest.Translate(r, output, [])));
        var root = JsonDocument.Parse(output.WrittenMemory).RootElement;
        Assert.Equal("Be brief.", root.GetProperty("system")[0].GetProperty("text").GetString());
        var messages = root.GetProperty("messages");
        Assert.Equal("Paris", messages[1].GetProperty("content")[0].GetProperty("toolUse").GetProperty("input").GetProperty("city").GetString());
        Assert.Equal("t1", messages[2].GetProperty("content")[0].GetProperty("toolResult").GetProperty("toolUseId").GetString());
        Assert.Equal((40, "END"), (root.GetProperty("inferenceConfig").GetProperty("maxTokens").GetInt32(), root.GetProperty("inferenceConfig").GetProperty("stopSequences")[0].GetString()));
        Assert.True(root.GetProperty("toolConfig").GetProperty("toolChoice").TryGetProperty("any", out _));
    }

    [Fact]
    public void Response_ToolUseAndGuardrail_Map()
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.Null(BedrockConverseResponse.Translate("""{"output":{"message":{"role":"assistant","content":[{"toolUse":{"toolUseId":"t9","name":"f","input":{"a":1}}}]}},"stopReason":"tool_use","usage":{"inputTokens":5,"outputTokens":2,"totalTokens":7}}"""u8, "m", 1, output));
        var choice = JsonDocument.Parse(output.WrittenMemory).RootElement.GetProperty("choices")[0];
        Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());
        Assert.Equal("{\"a\":1}", choice.GetProperty("message").GetProperty("tool_calls")[0].GetProperty("function").GetProperty("arguments").GetString());
        Assert.Equal("content_filter", BedrockConverseResponse.FinishReason("guardrail_intervened"));
    }

    [Fact]
    public void Stream_ToolInputFragmentsKeepTheirIndexAndUsageComesLast()
    {
        var translator = new BedrockConverseStream("m", 1, includeUsage: true);
        var output = new ArrayBufferWriter<byte>();
        foreach (var e in new[]
        {
            Event("messageStart", "{\"role\":\"assistant\"}"),
            Event("contentBlockStart", "{\"contentBlockIndex\":1,\"start\":{\"toolUse\":{\"toolUseId\":\"t1\",\"name\":\"f\"}}}"),
            Event("contentBlockDelta", "{\"contentBlockIndex\":1,\"delta\":{\"toolUse\":{\"input\":\"{\\\"a\\\":\"}}}"),
            Event("contentBlockDelta", "{\"contentBlockIndex\":1,\"delta\":{\"toolUse\":{\"input\":\"1}\"}}}"),
            Event("messageStop", "{\"stopReason\":\"tool_use\"}"),
            Event("metadata", "{\"usage\":{\"inputTokens\":5,\"outputTokens\":2,\"totalTokens\":7}}"),
        })
            translator.OnEvent(e, output);
        Assert.True(translator.Completed);
        var frames = Encoding.UTF8.GetString(output.WrittenSpan).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        var chunks = frames[..^1].Select(f => JsonDocument.Parse(f[6..]).RootElement.Clone()).ToArray();
        var args = chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0 && c.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("tool_calls", out _))
            .Select(c => c.GetProperty("choices")[0].GetProperty("delta").GetProperty("tool_calls")[0]).ToArray();
        Assert.All(args, a => Assert.Equal(0, a.GetProperty("index").GetInt32()));
        Assert.Equal("{\"a\":1}", string.Concat(args.Select(a => a.GetProperty("function").GetProperty("arguments").GetString())));
        Assert.Equal("tool_calls", chunks[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(7, chunks[^1].GetProperty("usage").GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public void Stream_Exception_IsAnError()
    {
        var translator = new BedrockConverseStream("m", 1, includeUsage: false);
        translator.OnEvent(new AwsEvent("exception", null, "throttlingException", "{\"message\":\"Too many requests\"}"u8.ToArray()), new ArrayBufferWriter<byte>());
        Assert.Contains("throttlingException", translator.Error);
        Assert.False(translator.Completed);
    }

    [Fact]
    public void Request_JsonSchemaAnswer_IsAForcedAnswerTool_UnlessTheRequestHasToolsOfItsOwn()
    {
        const string Schema = """{"type":"object","properties":{"echo":{"type":"string"}},"required":["echo"]}""";
        var output = new ArrayBufferWriter<byte>();
        var dropped = new List<string>();
        Assert.Null(Canonical.Translate("""{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"e","schema":"""
            + Schema + "}}}", r => BedrockConverseRequest.Translate(r, output, dropped)));
        var config = JsonDocument.Parse(output.WrittenMemory).RootElement.GetProperty("toolConfig");
        var spec = config.GetProperty("tools")[0].GetProperty("toolSpec");
        Assert.Equal((BedrockConverseRequest.AnswerTool, Schema), (spec.GetProperty("name").GetString(), spec.GetProperty("inputSchema").GetProperty("json").GetRawText()));
        Assert.Equal(BedrockConverseRequest.AnswerTool, config.GetProperty("toolChoice").GetProperty("tool").GetProperty("name").GetString());
        Assert.Empty(dropped);

        var withTools = new ArrayBufferWriter<byte>();
        var droppedWithTools = new List<string>();
        Assert.Null(Canonical.Translate("""
            {"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"},"tools":[{"type":"function","function":{"name":"f"}}]}
            """, r => BedrockConverseRequest.Translate(r, withTools, droppedWithTools)));
        Assert.Equal("f", JsonDocument.Parse(withTools.WrittenMemory).RootElement.GetProperty("toolConfig").GetProperty("tools")[0].GetProperty("toolSpec").GetProperty("name").GetString());
        Assert.Contains(droppedWithTools, d => d.StartsWith("response_format", StringComparison.Ordinal));
    }

    [Fact]
    public void Response_TheAnswerToolsInput_IsTheMessagesText_AndTheTurnStops()
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.Null(BedrockConverseResponse.Translate("""
            {"output":{"message":{"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"json_answer","input":{"echo":"hi"}}}]}},"stopReason":"tool_use","usage":{"inputTokens":5,"outputTokens":2,"totalTokens":7}}
            """u8, "m", 1, output, answerTool: true));
        var choice = JsonDocument.Parse(output.WrittenMemory).RootElement.GetProperty("choices")[0];
        Assert.Equal(("stop", """{"echo":"hi"}"""), (choice.GetProperty("finish_reason").GetString(), choice.GetProperty("message").GetProperty("content").GetString()));
        Assert.False(choice.GetProperty("message").TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array);
    }

    [Fact]
    public void Stream_TheAnswerToolsInput_StreamsAsText()
    {
        var translator = new BedrockConverseStream("m", 1, includeUsage: false, answerTool: true);
        var output = new ArrayBufferWriter<byte>();
        foreach (var e in new[]
        {
            Event("messageStart", "{\"role\":\"assistant\"}"),
            Event("contentBlockStart", "{\"contentBlockIndex\":0,\"start\":{\"toolUse\":{\"toolUseId\":\"t1\",\"name\":\"json_answer\"}}}"),
            Event("contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"toolUse\":{\"input\":\"{\\\"echo\\\":\"}}}"),
            Event("contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"toolUse\":{\"input\":\"\\\"hi\\\"}\"}}}"),
            Event("messageStop", "{\"stopReason\":\"tool_use\"}"),
            Event("metadata", "{\"usage\":{\"inputTokens\":5,\"outputTokens\":2,\"totalTokens\":7}}"),
        })
            translator.OnEvent(e, output);
        var chunks = Encoding.UTF8.GetString(output.WrittenSpan).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)[..^1]
            .Select(f => JsonDocument.Parse(f[6..]).RootElement.Clone()).Where(c => c.GetProperty("choices").GetArrayLength() > 0).ToArray();
        Assert.Equal("""{"echo":"hi"}""", string.Concat(chunks.Select(c => c.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var t) ? t.GetString() : "")));
        Assert.DoesNotContain(chunks, c => c.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("tool_calls", out _));
        Assert.Equal("stop", chunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }
}
