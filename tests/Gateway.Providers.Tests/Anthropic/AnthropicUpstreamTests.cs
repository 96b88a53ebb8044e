using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Providers.Anthropic;

namespace Gateway.Providers.Tests.Anthropic;

/// <summary>OpenAI in, Anthropic upstream: the request out, the answer and the stream back.</summary>
public class AnthropicUpstreamTests
{
    private static (JsonElement Body, List<string> Dropped) Request(string openAi)
    {
        var output = new ArrayBufferWriter<byte>();
        var dropped = new List<string>();
        Assert.Null(Canonical.Translate(openAi, r => AnthropicUpstreamRequest.Translate(r, "claude-x"u8, output, dropped)));
        return (JsonDocument.Parse(output.WrittenMemory).RootElement.Clone(), dropped);
    }

    [Fact]
    public void Request_SystemHoistedMaxTokensDefaultedOpenAIOnlyFieldsDropped()
    {
        var (body, dropped) = Request("""
            {"model":"anthropic/claude-x","messages":[{"role":"system","content":"Be brief."},{"role":"developer","content":"Use metric."},{"role":"user","content":"hi"}],
             "stream":true,"stream_options":{"include_usage":true},"n":1,"presence_penalty":0,"user":"u-1","temperature":1.5,"stop":"END"}
            """);
        Assert.Equal("claude-x", body.GetProperty("model").GetString());
        Assert.Equal("Be brief.\n\nUse metric.", body.GetProperty("system").GetString());
        Assert.Equal(AnthropicUpstreamRequest.DefaultMaxTokens, body.GetProperty("max_tokens").GetInt32());
        Assert.Equal("user", body.GetProperty("messages")[0].GetProperty("role").GetString());
        Assert.Equal("u-1", body.GetProperty("metadata").GetProperty("user_id").GetString());
        Assert.Equal(1, body.GetProperty("temperature").GetDouble());
        Assert.Equal("END", body.GetProperty("stop_sequences")[0].GetString());
        foreach (var openAiOnly in new[] { "stream_options", "n", "presence_penalty", "user", "stop" })
            Assert.False(body.TryGetProperty(openAiOnly, out _), openAiOnly);
        Assert.Contains("presence_penalty", dropped);
        Assert.Contains(dropped, d => d.StartsWith("temperature", StringComparison.Ordinal));
    }

    [Fact]
    public void Request_JsonSchemaResponseFormat_BecomesOutputConfigFormat_JsonModeIsReportedDropped()
    {
        const string Schema = """{"type":"object","properties":{"echo":{"type":"string"}},"required":["echo"],"additionalProperties":false}""";
        var (body, dropped) = Request("""{"model":"anthropic/claude-x","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"echo_reply","schema":"""
            + Schema + ""","strict":true}}}""");
        var format = body.GetProperty("output_config").GetProperty("format");
        Assert.Equal("json_schema", format.GetProperty("type").GetString());
        Assert.Equal(Schema, format.GetProperty("schema").GetRawText());
        Assert.Empty(dropped);

        var (jsonMode, droppedJsonMode) = Request("""{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"}}""");
        Assert.False(jsonMode.TryGetProperty("output_config", out _));
        Assert.Contains(droppedJsonMode, d => d.StartsWith("response_format json_object", StringComparison.Ordinal));
    }

    [Fact]
    public void Stream_MessageStart_GivesThePromptSideOfTheUsageBeforeAnyText()
    {
        var translator = new AnthropicUpstreamStream("m", 1, includeUsage: true);
        Assert.Null(translator.PromptUsage);
        translator.OnFrame("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_s\",\"usage\":{\"input_tokens\":12,\"cache_read_input_tokens\":30,\"cache_creation_input_tokens\":5,\"output_tokens\":1}}}\n\n"u8,
            new ArrayBufferWriter<byte>());
        Assert.Equal(new Gateway.Core.Sse.TokenUsage(47, 0, 47, 30, 0, 5), translator.PromptUsage);
    }

    [Theory]
    [InlineData("low", null, 1024, 4096 + 1024)]
    [InlineData("high", null, 4096, 4096 + 4096)]
    [InlineData("medium", 1500, 1499, 1500)]
    public void Request_ReasoningEffort_BecomesAThinkingBudgetInsideMaxTokens(string effort, int? max, int budget, int maxTokens)
    {
        string limit = max is null ? "" : $",\"max_completion_tokens\":{max}";
        var (body, dropped) = Request($$"""{"model":"m","messages":[{"role":"user","content":"why?"}],"reasoning_effort":"{{effort}}","temperature":0.3,"top_p":0.5{{limit}}}""");
        var thinking = body.GetProperty("thinking");
        Assert.Equal(("enabled", budget), (thinking.GetProperty("type").GetString(), thinking.GetProperty("budget_tokens").GetInt32()));
        Assert.Equal(maxTokens, body.GetProperty("max_tokens").GetInt32());
        // Anthropic refuses a temperature or a low top_p while thinking: dropped, and said so.
        Assert.False(body.TryGetProperty("temperature", out _));
        Assert.False(body.TryGetProperty("top_p", out _));
        Assert.Contains(dropped, d => d.StartsWith("temperature", StringComparison.Ordinal));
        Assert.Contains(dropped, d => d.StartsWith("top_p", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"low","max_tokens":1000}""", "max tokens")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"low","tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required"}""", "forced")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c","content":"r"}],"reasoning_effort":"high"}""", "last assistant turn")]
    public void Request_ReasoningEffortAnthropicCannotHonour_IsDroppedWithTheReason(string openAi, string reason)
    {
        var (body, dropped) = Request(openAi);
        Assert.False(body.TryGetProperty("thinking", out _));
        Assert.Contains(dropped, d => d.StartsWith("reasoning_effort", StringComparison.Ordinal) && d.Contains(reason, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("none")]
    [InlineData("minimal")]
    public void Request_ReasoningEffortNoneOrMinimal_LeavesThinkingOff(string effort)
    {
        var (body, dropped) = Request($$"""{"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"{{effort}}","temperature":0.3}""");
        Assert.False(body.TryGetProperty("thinking", out _));
        Assert.Equal(0.3, body.GetProperty("temperature").GetDouble());
        Assert.Empty(dropped);
    }

    [Fact]
    public void Request_ToolRoundTrip_BecomesToolUseAndToolResultWithObjectInput()
    {
        var (body, _) = Request("""
            {"model":"m","max_tokens":50,"parallel_tool_calls":false,"tool_choice":"required",
             "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"additionalProperties":false},"strict":true}}],
             "messages":[{"role":"user","content":"weather"},
               {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
                                                                {"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},
               {"role":"tool","tool_call_id":"call_1","content":"Sunny"},
               {"role":"tool","tool_call_id":"call_2","content":"Rain"}]}
            """);
        var messages = body.GetProperty("messages");
        Assert.Equal(3, messages.GetArrayLength()); // the two tool results merge into one user turn
        var uses = messages[1].GetProperty("content");
        Assert.Equal("Paris", uses[0].GetProperty("input").GetProperty("city").GetString());
        var results = messages[2].GetProperty("content");
        Assert.Equal(("tool_result", "call_2", "Rain"), (results[1].GetProperty("type").GetString(), results[1].GetProperty("tool_use_id").GetString(), results[1].GetProperty("content").GetString()));
        var tool = body.GetProperty("tools")[0];
        Assert.True(tool.GetProperty("strict").GetBoolean());
        Assert.False(tool.GetProperty("input_schema").GetProperty("additionalProperties").GetBoolean());
        Assert.Equal("any", body.GetProperty("tool_choice").GetProperty("type").GetString());
        Assert.True(body.GetProperty("tool_choice").GetProperty("disable_parallel_tool_use").GetBoolean());
    }

    [Fact]
    public void Request_ImageDataUrl_BecomesBase64Source()
    {
        var (body, _) = Request("""{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"what?"},{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/4A"}}]}]}""");
        var source = body.GetProperty("messages")[0].GetProperty("content")[1].GetProperty("source");
        Assert.Equal(("base64", "image/jpeg", "/9j/4A"), (source.GetProperty("type").GetString(), source.GetProperty("media_type").GetString(), source.GetProperty("data").GetString()));
    }

    [Theory]
    [InlineData("""{"model":"m","n":2,"messages":[{"role":"user","content":"x"}]}""", "unsupported_parameter")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]}""", "unsupported_content")]
    [InlineData("""{"model":"m","messages":[{"role":"system","content":"only system"}]}""", "invalid_messages")]
    [InlineData("""{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"not json"}}]}]}""", "invalid_messages")]
    public void Request_Untranslatable_Is400(string openAi, string code)
    {
        var error = Canonical.Translate(openAi, r => AnthropicUpstreamRequest.Translate(r, "m"u8, new ArrayBufferWriter<byte>(), []));
        Assert.Equal((400, code), (error!.Status, error.Code));
    }

    [Fact]
    public void Response_ToolUseAndUsage_BecomeOpenAICompletion()
    {
        const string anthropic = """
            {"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":"Checking."},
             {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}],"stop_reason":"tool_use","stop_sequence":null,
             "usage":{"input_tokens":20,"output_tokens":9,"cache_read_input_tokens":5}}
            """;
        var output = new ArrayBufferWriter<byte>();
        Assert.Null(AnthropicUpstreamResponse.Translate(Encoding.UTF8.GetBytes(anthropic), "anthropic/claude-x", 7, output));
        var root = JsonDocument.Parse(output.WrittenMemory).RootElement;
        var choice = root.GetProperty("choices")[0];
        Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());
        var call = choice.GetProperty("message").GetProperty("tool_calls")[0];
        Assert.Equal("{\"city\":\"Paris\"}", call.GetProperty("function").GetProperty("arguments").GetString());
        Assert.Equal("Checking.", choice.GetProperty("message").GetProperty("content").GetString());
        var usage = root.GetProperty("usage");
        Assert.Equal((25, 9, 34, 5), (usage.GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("completion_tokens").GetInt32(),
            usage.GetProperty("total_tokens").GetInt32(), usage.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32()));
    }

    private static readonly string[] ToolStream =
    [
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_s\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-x\",\"stop_reason\":null,\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: ping\ndata: {\"type\": \"ping\"}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Let me\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_a\",\"name\":\"f\",\"input\":{}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"1}\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_b\",\"name\":\"g\",\"input\":{}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{}\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":30}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    ];

    [Fact]
    public void Stream_ToolCalls_KeepTheirIndexRoleFirstUsageLastThenDone()
    {
        var translator = new AnthropicUpstreamStream("anthropic/claude-x", 1, includeUsage: true);
        var output = new ArrayBufferWriter<byte>();
        foreach (var frame in ToolStream) translator.OnFrame(Encoding.UTF8.GetBytes(frame), output);
        Assert.True(translator.Completed);
        var frames = Encoding.UTF8.GetString(output.WrittenSpan).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", frames[^1]);
        var chunks = frames[..^1].Select(f => JsonDocument.Parse(f[6..]).RootElement.Clone()).ToArray();
        Assert.All(chunks, c => Assert.Equal("chatcmpl-msg_s", c.GetProperty("id").GetString()));
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        var calls = chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0 && c.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("tool_calls", out _))
            .Select(c => c.GetProperty("choices")[0].GetProperty("delta").GetProperty("tool_calls")[0]).ToArray();
        Assert.Equal("{\"a\":1}", string.Concat(calls.Where(c => c.GetProperty("index").GetInt32() == 0).Select(c => c.GetProperty("function").GetProperty("arguments").GetString())));
        Assert.Equal("toolu_b", calls.First(c => c.GetProperty("index").GetInt32() == 1).GetProperty("id").GetString());
        Assert.Equal("tool_calls", chunks[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(0, chunks[^1].GetProperty("choices").GetArrayLength());
        Assert.Equal((12, 30), (chunks[^1].GetProperty("usage").GetProperty("prompt_tokens").GetInt32(), chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32()));
    }

    [Fact]
    public void Stream_ErrorEvent_IsReported()
    {
        var translator = new AnthropicUpstreamStream("m", 1, includeUsage: false);
        translator.OnFrame("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"u8, new ArrayBufferWriter<byte>());
        Assert.Equal("Overloaded", translator.Error);
        Assert.False(translator.Completed);
    }

    [Theory]
    [InlineData("plain words")]
    [InlineData("quote \" backslash \\ slash / newline \n tab \t")]
    [InlineData("<script>alert('x')</script> & café 日本 🚀")]
    [InlineData("\u2028 line separator, \u0001 control, \uD83D\uDE80 by escapes")]
    public void Stream_TextDelta_ReachesTheClientAsTheSameString(string text)
    {
        var translator = new AnthropicUpstreamStream("m", 1, includeUsage: false);
        var output = new ArrayBufferWriter<byte>();
        translator.OnFrame(Encoding.UTF8.GetBytes(ToolStream[0]), output);
        // Anthropic escapes what JSON requires; the literal's inside goes on as it came.
        string literal = JsonSerializer.Serialize(text, new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        translator.OnFrame(Encoding.UTF8.GetBytes("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":" + literal + "}}\n\n"), output);
        var frames = Encoding.UTF8.GetString(output.WrittenSpan).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        var chunk = JsonDocument.Parse(frames[^1][6..]).RootElement;
        Assert.Equal(text, chunk.GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString());
        Assert.Equal("chatcmpl-msg_s", chunk.GetProperty("id").GetString());
        Assert.Equal("m", chunk.GetProperty("model").GetString());
    }

    [Fact]
    public void Stream_TextDeltaThatIsNotUtf8_IsNeverPassedOnAsItCame()
    {
        var translator = new AnthropicUpstreamStream("m", 1, includeUsage: false);
        var output = new ArrayBufferWriter<byte>();
        var frame = Encoding.UTF8.GetBytes("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"bad \u0001\"}}\n\n");
        frame[Array.IndexOf(frame, (byte)1)] = 0xFF; // a byte that is never UTF-8
        try
        {
            translator.OnFrame(frame, output);
        }
        catch (JsonException)
        {
            // refused as a malformed event (the stream ends with an error): fine, as long as the bytes did not go on
        }
        Assert.True(System.Text.Unicode.Utf8.IsValid(output.WrittenSpan));
    }
}
