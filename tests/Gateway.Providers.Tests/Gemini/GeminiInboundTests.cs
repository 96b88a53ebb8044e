using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Core.Sse;
using Gateway.Providers.Gemini;

namespace Gateway.Providers.Tests.Gemini;

/// <summary>Gemini in (the Gemini API served by the gateway): the request to the canonical form, the canonical answer and stream back.</summary>
public class GeminiInboundTests
{
    private static (JsonElement Body, List<string> Dropped) Request(string gemini, string model = "openai/gpt-x", bool stream = false)
    {
        var output = new ArrayBufferWriter<byte>();
        var dropped = new List<string>();
        var error = GeminiRequestTranslator.Translate(Encoding.UTF8.GetBytes(gemini), model, stream, output, dropped);
        Assert.Null(error);
        return (JsonDocument.Parse(output.WrittenMemory).RootElement.Clone(), dropped);
    }

    [Fact]
    public void Request_SystemInstructionContentsAndConfig_BecomeTheCanonicalRequest()
    {
        var (body, dropped) = Request("""
            {"systemInstruction":{"parts":[{"text":"Be terse."}]},
             "contents":[{"role":"user","parts":[{"text":"hi "},{"text":"there"}]},{"role":"model","parts":[{"text":"Hello."}]},{"role":"user","parts":[{"text":"again"}]}],
             "generationConfig":{"maxOutputTokens":16,"temperature":0.5,"topP":0.9,"topK":40,"stopSequences":["END"],"seed":7},
             "safetySettings":[{"category":"HARM_CATEGORY_HATE_SPEECH","threshold":"BLOCK_NONE"}]}
            """, stream: true);
        Assert.Equal("openai/gpt-x", body.GetProperty("model").GetString());
        var messages = body.GetProperty("messages");
        Assert.Equal(["system:Be terse.", "user:hi there", "assistant:Hello.", "user:again"],
            messages.EnumerateArray().Select(m => m.GetProperty("role").GetString() + ":" + m.GetProperty("content").GetString()));
        Assert.Equal((16, 0.5, 0.9, "END", 7L), (body.GetProperty("max_tokens").GetInt32(), body.GetProperty("temperature").GetDouble(),
            body.GetProperty("top_p").GetDouble(), body.GetProperty("stop")[0].GetString(), body.GetProperty("seed").GetInt64()));
        Assert.True(body.GetProperty("stream").GetBoolean());
        Assert.True(body.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.Equal(["generationConfig.topK", "safetySettings"], dropped);
    }

    [Fact]
    public void Request_FunctionDeclarationsCallsAndResponses_BecomeToolsToolCallsAndToolMessages()
    {
        var (body, _) = Request("""
            {"contents":[
               {"role":"user","parts":[{"text":"weather?"}]},
               {"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}},{"functionCall":{"id":"given","name":"get_time","args":{}}}]},
               {"role":"user","parts":[{"functionResponse":{"id":"given","name":"get_time","response":{"time":"noon"}}},{"functionResponse":{"name":"get_weather","response":{"result":"Sunny"}}}]}],
             "tools":[{"functionDeclarations":[{"name":"get_weather","description":"Weather","parameters":{"type":"OBJECT","properties":{"city":{"type":"STRING","nullable":true}},"required":["city"],"propertyOrdering":["city"]}}]}],
             "toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["get_weather"]}}}
            """);
        var messages = body.GetProperty("messages");
        var calls = messages[1].GetProperty("tool_calls");
        Assert.Equal("get_weather", calls[0].GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("""{"city":"Paris"}""", calls[0].GetProperty("function").GetProperty("arguments").GetString());
        Assert.Equal("given", calls[1].GetProperty("id").GetString());
        // Paired by id where the response names one, else by name and order; the response object is the tool's content.
        Assert.Equal(("tool", "given", """{"time":"noon"}"""), (messages[2].GetProperty("role").GetString(), messages[2].GetProperty("tool_call_id").GetString(),
            messages[2].GetProperty("content").GetString()));
        Assert.Equal(calls[0].GetProperty("id").GetString(), messages[3].GetProperty("tool_call_id").GetString());
        var parameters = body.GetProperty("tools")[0].GetProperty("function").GetProperty("parameters");
        Assert.Equal("""{"type":"object","properties":{"city":{"type":["string","null"]}},"required":["city"]}""", parameters.GetRawText());
        Assert.Equal("get_weather", body.GetProperty("tool_choice").GetProperty("function").GetProperty("name").GetString());
    }

    [Theory]
    [InlineData("""{"responseMimeType":"application/json","responseSchema":{"type":"OBJECT","properties":{"echo":{"type":"STRING"}}}}""",
        "json_schema", """{"type":"object","properties":{"echo":{"type":"string"}}}""")]
    [InlineData("""{"responseMimeType":"application/json","responseJsonSchema":{"type":"object","additionalProperties":false}}""",
        "json_schema", """{"type":"object","additionalProperties":false}""")]
    [InlineData("""{"responseMimeType":"application/json"}""", "json_object", null)]
    public void Request_JsonOutput_BecomesResponseFormat(string config, string type, string? schema)
    {
        var (body, _) = Request($$"""{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{{config}}}""");
        var format = body.GetProperty("response_format");
        Assert.Equal(type, format.GetProperty("type").GetString());
        if (schema is not null) Assert.Equal(schema, format.GetProperty("json_schema").GetProperty("schema").GetRawText());
    }

    [Theory]
    [InlineData("""{"contents":[]}""")]
    [InlineData("""{"contents":[{"role":"system","parts":[{"text":"x"}]}]}""")]
    [InlineData("""{"contents":[{"role":"user","parts":[{"functionResponse":{"name":"never_called","response":{}}}]}]}""")]
    [InlineData("""{"contents":[{"parts":[{"text":"x"}]}],"tools":[{"googleSearch":{}}]}""")]
    [InlineData("""{"contents":[{"parts":[{"inlineData":{"mimeType":"audio/wav","data":"AAAA"}}]}]}""")]
    [InlineData("""{"contents":[{"parts":[{"text":"x"}]}],"generationConfig":{"candidateCount":2}}""")]
    [InlineData("""[1,2]""")]
    public void Request_ThatCannotBeServed_Is400(string gemini)
    {
        var error = GeminiRequestTranslator.Translate(Encoding.UTF8.GetBytes(gemini), "m", false, new ArrayBufferWriter<byte>(), []);
        Assert.Equal(400, error?.Status);
    }

    [Fact]
    public void Response_TextToolCallsAndUsage_BecomeOneCandidate()
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.Null(GeminiResponseTranslator.Translate(Encoding.UTF8.GetBytes("""
            {"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-x","choices":[{"index":0,"finish_reason":"tool_calls",
             "message":{"role":"assistant","content":"Let me check.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]}}],
             "usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21,"completion_tokens_details":{"reasoning_tokens":4}}}
            """), "openai/gpt-x", output));
        var root = JsonDocument.Parse(output.WrittenMemory).RootElement;
        var candidate = root.GetProperty("candidates")[0];
        Assert.Equal("STOP", candidate.GetProperty("finishReason").GetString()); // Gemini ends a calling turn with STOP
        var parts = candidate.GetProperty("content").GetProperty("parts");
        Assert.Equal("Let me check.", parts[0].GetProperty("text").GetString());
        Assert.Equal(("call_1", "get_weather", "Paris"), (parts[1].GetProperty("functionCall").GetProperty("id").GetString(),
            parts[1].GetProperty("functionCall").GetProperty("name").GetString(), parts[1].GetProperty("functionCall").GetProperty("args").GetProperty("city").GetString()));
        var usage = root.GetProperty("usageMetadata");
        Assert.Equal((12, 5, 21, 4), (usage.GetProperty("promptTokenCount").GetInt32(), usage.GetProperty("candidatesTokenCount").GetInt32(),
            usage.GetProperty("totalTokenCount").GetInt32(), usage.GetProperty("thoughtsTokenCount").GetInt32()));
        Assert.Equal("openai/gpt-x", root.GetProperty("modelVersion").GetString());
    }

    [Theory]
    [InlineData("length", "MAX_TOKENS")]
    [InlineData("content_filter", "SAFETY")]
    [InlineData("stop", "STOP")]
    public void Response_FinishReasons_Map(string finish, string gemini) => Assert.Equal(gemini, GeminiResponseTranslator.FinishReason(finish));

    [Fact]
    public void Response_ToolArgumentsThatAreNotAnObject_Are502NeverDropped()
    {
        var error = GeminiResponseTranslator.Translate(Encoding.UTF8.GetBytes("""
            {"id":"c","choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"[1,"}}]}}]}
            """), "m", new ArrayBufferWriter<byte>());
        Assert.Equal(502, error?.Status);
    }

    private static List<JsonElement> Stream(params string[] chunks) => Stream(null, chunks);

    private static List<JsonElement> Stream(Func<TokenUsage>? promptUsage, params string[] chunks)
    {
        var translator = new GeminiStreamTranslator("openai/gpt-x") { PromptUsage = promptUsage };
        var output = new ArrayBufferWriter<byte>();
        foreach (var chunk in chunks) translator.OnFrame(Encoding.UTF8.GetBytes($"data: {chunk}\n\n"), output);
        Assert.True(translator.Completed);
        string text = Encoding.UTF8.GetString(output.WrittenSpan);
        Assert.EndsWith("\r\n\r\n", text, StringComparison.Ordinal);
        return [.. text.Split("\r\n\r\n", StringSplitOptions.RemoveEmptyEntries).Select(f => JsonDocument.Parse(f["data: ".Length..]).RootElement.Clone())];
    }

    [Fact]
    public void Stream_TextDeltasThenOneLastFrameWithFinishAndUsage()
    {
        var frames = Stream(
            """{"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}""",
            """{"id":"c1","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}""",
            """{"id":"c1","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}]}""",
            """{"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}""",
            """{"id":"c1","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}}""",
            "[DONE]");
        Assert.Equal(3, frames.Count);
        Assert.Equal("Hello", string.Concat(frames.Select(f => string.Concat(f.GetProperty("candidates")[0].GetProperty("content").GetProperty("parts")
            .EnumerateArray().Select(p => p.GetProperty("text").GetString())))));
        Assert.All(frames[..^1], f => Assert.False(f.GetProperty("candidates")[0].TryGetProperty("finishReason", out _)));
        Assert.Equal("STOP", frames[^1].GetProperty("candidates")[0].GetProperty("finishReason").GetString());
        Assert.Equal(14, frames[^1].GetProperty("usageMetadata").GetProperty("totalTokenCount").GetInt32());
        Assert.Single(frames, f => f.TryGetProperty("usageMetadata", out _));
        Assert.All(frames, f => Assert.Equal("c1", f.GetProperty("responseId").GetString()));
    }

    [Fact]
    public void Stream_WithThePromptKnownEarly_EveryFrameBeforeTheLastCarriesIt_AskedOnce()
    {
        int asked = 0;
        var frames = Stream(() => { asked++; return new TokenUsage(11, 0, 11, 4, 0); },
            """{"id":"c1","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}""",
            """{"id":"c1","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}""",
            """{"id":"c1","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}}""",
            "[DONE]");
        Assert.Equal(1, asked);
        Assert.All(frames[..^1], f =>
        {
            var usage = f.GetProperty("usageMetadata");
            Assert.Equal((11, 11, 4), (usage.GetProperty("promptTokenCount").GetInt32(), usage.GetProperty("totalTokenCount").GetInt32(), usage.GetProperty("cachedContentTokenCount").GetInt32()));
            Assert.False(usage.TryGetProperty("candidatesTokenCount", out _));
        });
        // The provider's numbers win on the last frame.
        Assert.Equal((12, 14), (frames[^1].GetProperty("usageMetadata").GetProperty("promptTokenCount").GetInt32(), frames[^1].GetProperty("usageMetadata").GetProperty("totalTokenCount").GetInt32()));
    }

    [Fact]
    public void Stream_ToolCallFragments_AreSentWholeInTheLastFrame()
    {
        var frames = Stream(
            """{"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}""",
            """{"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]}""",
            """{"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}]}""",
            """{"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}""",
            "[DONE]");
        var last = Assert.Single(frames);
        var call = last.GetProperty("candidates")[0].GetProperty("content").GetProperty("parts")[0].GetProperty("functionCall");
        Assert.Equal(("call_1", "get_weather", "Paris"), (call.GetProperty("id").GetString(), call.GetProperty("name").GetString(), call.GetProperty("args").GetProperty("city").GetString()));
        Assert.Equal("STOP", last.GetProperty("candidates")[0].GetProperty("finishReason").GetString());
    }

    [Fact]
    public void Stream_WithoutDone_IsNotCompleted()
    {
        var translator = new GeminiStreamTranslator("m");
        translator.OnFrame("""data: {"id":"c1","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}"""u8, new ArrayBufferWriter<byte>());
        Assert.False(translator.Completed);
    }

    [Fact]
    public void Errors_AreGoogleRpcStatusJson()
    {
        var body = JsonDocument.Parse(GeminiErrors.ToBytes(new Gateway.Core.Errors.GatewayError(429, "rate_limit_error", "x", "Slow down.", Gateway.Core.Errors.ErrorSource.Upstream))).RootElement.GetProperty("error");
        Assert.Equal((429, "Slow down.", "RESOURCE_EXHAUSTED"), (body.GetProperty("code").GetInt32(), body.GetProperty("message").GetString(), body.GetProperty("status").GetString()));
        Assert.Equal("UNAUTHENTICATED", GeminiErrors.StatusFor(401));
        Assert.Equal("INVALID_ARGUMENT", GeminiErrors.StatusFor(400));
        Assert.Equal("NOT_FOUND", GeminiErrors.StatusFor(404));
    }
}
