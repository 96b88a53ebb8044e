using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Providers.OpenAI;

namespace Gateway.Providers.Tests.OpenAI;

/// <summary>The Responses API in, any provider out: the request to the canonical form, the canonical answer and stream back.</summary>
public class ResponsesTranslationTests
{
    private static (JsonElement Body, List<string> Dropped) Request(string responses)
    {
        var output = new ArrayBufferWriter<byte>();
        var dropped = new List<string>();
        Assert.Null(ResponsesRequestTranslator.Translate(Encoding.UTF8.GetBytes(responses), "anthropic/claude-x", output, dropped));
        return (JsonDocument.Parse(output.WrittenMemory).RootElement.Clone(), dropped);
    }

    [Fact]
    public void Request_InstructionsTextAndParameters_BecomeTheCanonicalRequest()
    {
        var (body, dropped) = Request("""
            {"model":"anthropic/claude-x","instructions":"Be terse.","input":"hi","max_output_tokens":16,"temperature":0.3,"top_p":0.9,
             "reasoning":{"effort":"low","summary":"auto"},"text":{"format":{"type":"json_schema","name":"echo","schema":{"type":"object"},"strict":true}},
             "stream":true,"store":false,"metadata":{"a":"b"},"user":"u1"}
            """);
        var messages = body.GetProperty("messages");
        Assert.Equal(["system:Be terse.", "user:hi"], messages.EnumerateArray().Select(m => m.GetProperty("role").GetString() + ":" + m.GetProperty("content").GetString()));
        Assert.Equal((16, 0.3, 0.9, "low", "u1"), (body.GetProperty("max_tokens").GetInt32(), body.GetProperty("temperature").GetDouble(), body.GetProperty("top_p").GetDouble(),
            body.GetProperty("reasoning_effort").GetString(), body.GetProperty("user").GetString()));
        var format = body.GetProperty("response_format");
        Assert.Equal(("json_schema", "echo", """{"type":"object"}""", true), (format.GetProperty("type").GetString(), format.GetProperty("json_schema").GetProperty("name").GetString(),
            format.GetProperty("json_schema").GetProperty("schema").GetRawText(), format.GetProperty("json_schema").GetProperty("strict").GetBoolean()));
        Assert.True(body.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.Equal(["reasoning.summary", "metadata"], dropped);
    }

    [Fact]
    public void Request_Items_MessagesCallsAndOutputs_BecomeChatTurns()
    {
        var (body, dropped) = Request("""
            {"model":"m","tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}},"strict":true}],
             "tool_choice":{"type":"function","name":"get_weather"},
             "input":[
               {"role":"developer","content":"Note."},
               {"type":"message","role":"user","content":[{"type":"input_text","text":"weather "},{"type":"input_text","text":"in Paris?"}]},
               {"type":"reasoning","id":"rs_1","summary":[]},
               {"type":"function_call","call_id":"call_a","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},
               {"type":"function_call","call_id":"call_b","name":"get_weather","arguments":"{\"city\":\"Lyon\"}"},
               {"type":"function_call_output","call_id":"call_a","output":"Sunny"},
               {"type":"function_call_output","call_id":"call_b","output":[{"type":"input_text","text":"Rain"}]},
               {"role":"user","content":[{"type":"input_image","image_url":"https://example.com/a.png","detail":"low"}]}]}
            """);
        var messages = body.GetProperty("messages").EnumerateArray().ToArray();
        Assert.Equal(["developer", "user", "assistant", "tool", "tool", "user"], messages.Select(m => m.GetProperty("role").GetString()));
        Assert.Equal("weather in Paris?", messages[1].GetProperty("content").GetString());
        var calls = messages[2].GetProperty("tool_calls");
        Assert.Equal(["call_a", "call_b"], calls.EnumerateArray().Select(c => c.GetProperty("id").GetString())); // parallel calls: one turn
        Assert.Equal("{\"city\":\"Lyon\"}", calls[1].GetProperty("function").GetProperty("arguments").GetString());
        Assert.Equal(("call_b", "Rain"), (messages[4].GetProperty("tool_call_id").GetString(), messages[4].GetProperty("content").GetString()));
        Assert.Equal("https://example.com/a.png", messages[5].GetProperty("content")[0].GetProperty("image_url").GetProperty("url").GetString());
        var tool = body.GetProperty("tools")[0];
        Assert.Equal(("function", "get_weather", true), (tool.GetProperty("type").GetString(), tool.GetProperty("function").GetProperty("name").GetString(),
            tool.GetProperty("function").GetProperty("strict").GetBoolean()));
        Assert.Equal("get_weather", body.GetProperty("tool_choice").GetProperty("function").GetProperty("name").GetString());
        Assert.Equal(["input[2] (reasoning)"], dropped);
    }

    [Theory]
    [InlineData("""{"model":"m","input":"hi","previous_response_id":"resp_1"}""", "unsupported_parameter")]
    [InlineData("""{"model":"m","input":"hi","conversation":"conv_1"}""", "unsupported_parameter")]
    [InlineData("""{"model":"m","input":"hi","store":true}""", "unsupported_parameter")]
    [InlineData("""{"model":"m","input":[{"type":"item_reference","id":"msg_1"}]}""", "unsupported_input")]
    [InlineData("""{"model":"m","input":"hi","tools":[{"type":"web_search"}]}""", "unsupported_tool")]
    [InlineData("""{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"f"}]}]}""", "unsupported_content")]
    [InlineData("""{"model":"m","input":[{"type":"function_call_output","output":"x"}]}""", "invalid_input")]
    [InlineData("""{"model":"m","instructions":"only this","input":[]}""", "invalid_input")]
    [InlineData("""{"model":"m","input":42}""", "invalid_input")]
    public void Request_ThatCannotBeTranslated_Is400(string responses, string code)
    {
        var error = ResponsesRequestTranslator.Translate(Encoding.UTF8.GetBytes(responses), "m", new ArrayBufferWriter<byte>(), []);
        Assert.Equal((400, code), (error?.Status, error?.Code));
    }

    private static JsonElement Answer(string completion)
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.Null(ResponsesAnswer.Translate(Encoding.UTF8.GetBytes(completion), "anthropic/claude-x", output));
        return JsonDocument.Parse(output.WrittenMemory).RootElement.Clone();
    }

    [Fact]
    public void Answer_TextAndUsage_BecomeACompletedResponse()
    {
        var response = Answer("""
            {"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"x","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"Hello."}}],
             "usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":2}}}
            """);
        Assert.Equal(("response", "completed", "resp_chatcmpl-1", 1700000000L), (response.GetProperty("object").GetString(), response.GetProperty("status").GetString(),
            response.GetProperty("id").GetString(), response.GetProperty("created_at").GetInt64()));
        var message = Assert.Single(response.GetProperty("output").EnumerateArray());
        Assert.Equal(("message", "assistant", "completed"), (message.GetProperty("type").GetString(), message.GetProperty("role").GetString(), message.GetProperty("status").GetString()));
        Assert.Equal(("output_text", "Hello."), (message.GetProperty("content")[0].GetProperty("type").GetString(), message.GetProperty("content")[0].GetProperty("text").GetString()));
        var usage = response.GetProperty("usage");
        Assert.Equal((12, 3, 15, 2, 0), (usage.GetProperty("input_tokens").GetInt32(), usage.GetProperty("output_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32(),
            usage.GetProperty("input_tokens_details").GetProperty("cached_tokens").GetInt32(), usage.GetProperty("output_tokens_details").GetProperty("reasoning_tokens").GetInt32()));
        Assert.Equal(JsonValueKind.Null, response.GetProperty("incomplete_details").ValueKind);
    }

    [Fact]
    public void Answer_ToolCalls_BecomeFunctionCallItems_ACutAnswerIsIncomplete()
    {
        var calls = Answer("""
            {"id":"c","choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":null,
             "tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]}}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}
            """);
        var item = Assert.Single(calls.GetProperty("output").EnumerateArray());
        Assert.Equal(("function_call", "call_1", "get_weather", "{\"city\":\"Paris\"}"), (item.GetProperty("type").GetString(), item.GetProperty("call_id").GetString(),
            item.GetProperty("name").GetString(), item.GetProperty("arguments").GetString()));

        var cut = Answer("""{"id":"c","choices":[{"index":0,"finish_reason":"length","message":{"role":"assistant","content":"Hel"}}]}""");
        Assert.Equal(("incomplete", "max_output_tokens"), (cut.GetProperty("status").GetString(), cut.GetProperty("incomplete_details").GetProperty("reason").GetString()));
    }

    private static List<(string Type, JsonElement Data)> Stream(params string[] chunks)
    {
        var translator = new ResponsesStreamTranslator("anthropic/claude-x");
        var output = new ArrayBufferWriter<byte>();
        foreach (var chunk in chunks) translator.OnFrame(Encoding.UTF8.GetBytes($"data: {chunk}\n\n"), output);
        Assert.True(translator.Completed);
        var events = Encoding.UTF8.GetString(output.WrittenSpan).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e => e.Split('\n')).Select(l => (l[0]["event: ".Length..], JsonDocument.Parse(l[1]["data: ".Length..]).RootElement.Clone())).ToList();
        for (int i = 0; i < events.Count; i++)
        {
            Assert.Equal(events[i].Item1, events[i].Item2.GetProperty("type").GetString());
            Assert.Equal(i, events[i].Item2.GetProperty("sequence_number").GetInt32());
        }
        return events;
    }

    [Fact]
    public void Stream_Text_GivesTheMessageLifecycleInOrder_AndCompletedCarriesOutputAndUsage()
    {
        var events = Stream(
            """{"id":"c1","created":5,"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}""",
            """{"id":"c1","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}""",
            """{"id":"c1","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}]}""",
            """{"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}""",
            """{"id":"c1","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}}""",
            "[DONE]");
        Assert.Equal(["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added", "response.output_text.delta",
            "response.output_text.delta", "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"], events.Select(e => e.Type));
        Assert.Equal("in_progress", events[0].Data.GetProperty("response").GetProperty("status").GetString());
        string itemId = events[2].Data.GetProperty("item").GetProperty("id").GetString()!;
        Assert.All(events.Where(e => e.Type == "response.output_text.delta"), e => Assert.Equal(itemId, e.Data.GetProperty("item_id").GetString()));
        Assert.Equal("Hello", events[6].Data.GetProperty("text").GetString());
        var done = events[^1].Data.GetProperty("response");
        Assert.Equal(("completed", "Hello", 14), (done.GetProperty("status").GetString(), done.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString(),
            done.GetProperty("usage").GetProperty("total_tokens").GetInt32()));
        Assert.Equal(events[0].Data.GetProperty("response").GetProperty("id").GetString(), done.GetProperty("id").GetString());
    }

    [Fact]
    public void Stream_ToolCalls_EachAFunctionCallItemWithArgumentDeltas()
    {
        var events = Stream(
            """{"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}""",
            """{"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]}""",
            """{"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}]}""",
            """{"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_2","type":"function","function":{"name":"get_time","arguments":"{}"}}]},"finish_reason":null}]}""",
            """{"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}""",
            "[DONE]");
        Assert.Equal(["response.created", "response.in_progress",
            "response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.delta", "response.function_call_arguments.done", "response.output_item.done",
            "response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.done", "response.output_item.done",
            "response.completed"], events.Select(e => e.Type));
        Assert.Equal(("function_call", "call_1", "get_weather"), (events[2].Data.GetProperty("item").GetProperty("type").GetString(),
            events[2].Data.GetProperty("item").GetProperty("call_id").GetString(), events[2].Data.GetProperty("item").GetProperty("name").GetString()));
        Assert.Equal("{\"city\":\"Paris\"}", events[5].Data.GetProperty("arguments").GetString());
        Assert.Equal(1, events[7].Data.GetProperty("output_index").GetInt32());
        var output = events[^1].Data.GetProperty("response").GetProperty("output");
        Assert.Equal(["call_1", "call_2"], output.EnumerateArray().Select(o => o.GetProperty("call_id").GetString()));
    }

    [Fact]
    public void Stream_CutByTheLimit_EndsWithResponseIncomplete()
    {
        var events = Stream(
            """{"id":"c1","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}""",
            """{"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"length"}]}""",
            "[DONE]");
        Assert.Equal("response.incomplete", events[^1].Type);
        Assert.Equal("max_output_tokens", events[^1].Data.GetProperty("response").GetProperty("incomplete_details").GetProperty("reason").GetString());
    }

    [Fact]
    public void Stream_Reasoning_IsAReasoningItemWithSummaryEvents_BeforeTheMessage()
    {
        var events = Stream(
            """{"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":"Let me "},"finish_reason":null}]}""",
            """{"id":"c1","choices":[{"index":0,"delta":{"reasoning_content":"think."},"finish_reason":null}]}""",
            """{"id":"c1","choices":[{"index":0,"delta":{"content":"42"},"finish_reason":null}]}""",
            """{"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":9,"total_tokens":14,"completion_tokens_details":{"reasoning_tokens":6}}}""",
            "[DONE]");
        Assert.Equal(["response.created", "response.in_progress",
            "response.output_item.added", "response.reasoning_summary_part.added", "response.reasoning_summary_text.delta", "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done",
            "response.output_item.added", "response.content_part.added", "response.output_text.delta", "response.output_text.done", "response.content_part.done",
            "response.output_item.done", "response.completed"], events.Select(e => e.Type));
        Assert.Equal(("reasoning", 0), (events[2].Data.GetProperty("item").GetProperty("type").GetString(), events[2].Data.GetProperty("item").GetProperty("summary").GetArrayLength()));
        Assert.Equal("Let me think.", events[6].Data.GetProperty("text").GetString());
        var output = events[^1].Data.GetProperty("response").GetProperty("output");
        Assert.Equal(("reasoning", "Let me think.", "message"), (output[0].GetProperty("type").GetString(), output[0].GetProperty("summary")[0].GetProperty("text").GetString(),
            output[1].GetProperty("type").GetString()));
        Assert.Equal(1, events[9].Data.GetProperty("output_index").GetInt32());
        Assert.Equal(6, events[^1].Data.GetProperty("response").GetProperty("usage").GetProperty("output_tokens_details").GetProperty("reasoning_tokens").GetInt32());
    }
}
