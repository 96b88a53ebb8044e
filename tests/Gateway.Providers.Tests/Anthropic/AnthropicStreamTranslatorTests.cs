using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Providers.Anthropic;

namespace Gateway.Providers.Tests.Anthropic;

public class AnthropicStreamTranslatorTests
{
    private static List<(string Event, JsonElement Data)> Run(params string[] chunks)
    {
        var translator = new AnthropicStreamTranslator("openai/gpt-x");
        var output = new ArrayBufferWriter<byte>();
        foreach (var chunk in chunks) translator.OnFrame(Encoding.UTF8.GetBytes($"data: {chunk}\n\n"), output);
        Assert.True(translator.Completed);
        return Encoding.UTF8.GetString(output.WrittenSpan).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e => e.Split('\n'))
            .Select(lines => (lines[0]["event: ".Length..], JsonDocument.Parse(lines[1]["data: ".Length..]).RootElement.Clone()))
            .ToList();
    }

    [Fact]
    public void Reasoning_BecomesAThinkingBlockBeforeTheText()
    {
        var events = Run(
            """{"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":"Let me "},"finish_reason":null}]}""",
            """{"id":"c1","choices":[{"index":0,"delta":{"reasoning_content":"think."},"finish_reason":null}]}""",
            """{"id":"c1","choices":[{"index":0,"delta":{"content":"42"},"finish_reason":null}]}""",
            """{"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":9,"total_tokens":14,"completion_tokens_details":{"reasoning_tokens":6}}}""",
            "[DONE]");
        Assert.Equal(["message_start", "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
            "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"], events.Select(e => e.Event));
        Assert.Equal("thinking", events[1].Data.GetProperty("content_block").GetProperty("type").GetString());
        Assert.Equal("Let me think.", string.Concat(events.Where(e => e.Event == "content_block_delta" && e.Data.GetProperty("delta").GetProperty("type").GetString() == "thinking_delta")
            .Select(e => e.Data.GetProperty("delta").GetProperty("thinking").GetString())));
        Assert.Equal((1, "42"), (events[6].Data.GetProperty("index").GetInt32(), events[6].Data.GetProperty("delta").GetProperty("text").GetString()));
        Assert.Equal(9, events[^2].Data.GetProperty("usage").GetProperty("output_tokens").GetInt32());
    }

    [Fact]
    public void MalformedChunk_Throws_SoTheEndpointFailsTheStream()
    {
        var translator = new AnthropicStreamTranslator("m");
        Assert.ThrowsAny<JsonException>(() => translator.OnFrame("data: {\"id\":oops\n\n"u8, new ArrayBufferWriter<byte>()));
    }

    [Fact]
    public void Text_GivesTheFullEventSequenceWithUsageAtTheEnd()
    {
        var events = Run(
            """{"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}""",
            """{"id":"c1","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}""",
            """{"id":"c1","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}]}""",
            """{"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}""",
            """{"id":"c1","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}}""",
            "[DONE]");
        Assert.Equal(["message_start", "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"],
            events.Select(e => e.Event));
        Assert.All(events, e => Assert.Equal(e.Event, e.Data.GetProperty("type").GetString()));
        Assert.Equal("Hello", string.Concat(events.Where(e => e.Event == "content_block_delta").Select(e => e.Data.GetProperty("delta").GetProperty("text").GetString())));
        var delta = events[^2].Data;
        Assert.Equal("end_turn", delta.GetProperty("delta").GetProperty("stop_reason").GetString());
        Assert.Equal((12, 2), (delta.GetProperty("usage").GetProperty("input_tokens").GetInt32(), delta.GetProperty("usage").GetProperty("output_tokens").GetInt32()));
    }

    [Fact]
    public void ParallelToolCalls_EachGetItsOwnBlockAndFragmentsKeepTheirIndex()
    {
        var events = Run(
            """{"id":"c2","choices":[{"index":0,"delta":{"role":"assistant","content":"Sure."}}]}""",
            """{"id":"c2","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"f","arguments":""}}]}}]}""",
            """{"id":"c2","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":"}}]}}]}""",
            """{"id":"c2","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}}]}""",
            """{"id":"c2","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"g","arguments":"{}"}}]}}]}""",
            """{"id":"c2","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}""",
            "[DONE]");
        var starts = events.Where(e => e.Event == "content_block_start").Select(e => e.Data).ToArray();
        Assert.Equal(["text", "tool_use", "tool_use"], starts.Select(s => s.GetProperty("content_block").GetProperty("type").GetString()));
        Assert.Equal([0, 1, 2], starts.Select(s => s.GetProperty("index").GetInt32()));
        Assert.Equal("call_a", starts[1].GetProperty("content_block").GetProperty("id").GetString());
        var json = events.Where(e => e.Event == "content_block_delta" && e.Data.GetProperty("delta").GetProperty("type").GetString() == "input_json_delta").ToArray();
        Assert.Equal("{\"a\":1}", string.Concat(json.Where(e => e.Data.GetProperty("index").GetInt32() == 1).Select(e => e.Data.GetProperty("delta").GetProperty("partial_json").GetString())));
        Assert.Equal("{}", json.Single(e => e.Data.GetProperty("index").GetInt32() == 2).Data.GetProperty("delta").GetProperty("partial_json").GetString());
        Assert.Equal("tool_use", events[^2].Data.GetProperty("delta").GetProperty("stop_reason").GetString());
        Assert.Equal(3, events.Count(e => e.Event == "content_block_stop"));
    }

    [Fact]
    public void WithoutDone_IsNotCompleted()
    {
        var translator = new AnthropicStreamTranslator("m");
        translator.OnFrame(Encoding.UTF8.GetBytes("data: {\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n"), new ArrayBufferWriter<byte>());
        Assert.False(translator.Completed);
    }

    [Fact]
    public void MessageStart_CarriesThePromptUsageAskedForWhenItIsWritten_MessageDeltaTheProvidersNumbers()
    {
        int asked = 0;
        var translator = new AnthropicStreamTranslator("m") { PromptUsage = () => { asked++; return new Gateway.Core.Sse.TokenUsage(40, 0, 40, 25, 0, 5); } };
        var output = new ArrayBufferWriter<byte>();
        foreach (var chunk in new[]
        {
            """{"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}""",
            """{"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}""",
            """{"id":"c1","choices":[],"usage":{"prompt_tokens":42,"completion_tokens":2,"total_tokens":44}}""",
            "[DONE]",
        })
            translator.OnFrame(Encoding.UTF8.GetBytes($"data: {chunk}\n\n"), output);
        var events = Encoding.UTF8.GetString(output.WrittenSpan).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e => JsonDocument.Parse(e.Split('\n')[1]["data: ".Length..]).RootElement.Clone()).ToArray();
        var start = events[0].GetProperty("message").GetProperty("usage");
        Assert.Equal(1, asked);
        Assert.Equal((10, 25, 5, 0), (start.GetProperty("input_tokens").GetInt32(), start.GetProperty("cache_read_input_tokens").GetInt32(),
            start.GetProperty("cache_creation_input_tokens").GetInt32(), start.GetProperty("output_tokens").GetInt32()));
        var end = events.Single(e => e.GetProperty("type").GetString() == "message_delta").GetProperty("usage");
        Assert.Equal((42, 2), (end.GetProperty("input_tokens").GetInt32(), end.GetProperty("output_tokens").GetInt32()));
    }

    [Fact]
    public void MessageStart_WithoutAPromptUsage_SaysZero()
    {
        var translator = new AnthropicStreamTranslator("m");
        var output = new ArrayBufferWriter<byte>();
        translator.OnFrame("""data: {"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}"""u8, output);
        var start = JsonDocument.Parse(Encoding.UTF8.GetString(output.WrittenSpan).Split('\n')[1]["data: ".Length..]).RootElement;
        Assert.Equal(0, start.GetProperty("message").GetProperty("usage").GetProperty("input_tokens").GetInt32());
    }
}
