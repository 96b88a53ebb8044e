using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Providers.Gemini;

namespace Gateway.Providers.Tests.Gemini;

/// <summary>OpenAI in, Gemini upstream: the request out, the answer and the stream back.</summary>
public class GeminiUpstreamTests
{
    private static (JsonElement Body, List<string> Dropped) Request(string openAi)
    {
        var output = new ArrayBufferWriter<byte>();
        var dropped = new List<string>();
        Assert.Null(Canonical.Translate(openAi, r => GeminiUpstreamRequest.Translate(r, output, dropped)));
        return (JsonDocument.Parse(output.WrittenMemory).RootElement.Clone(), dropped);
    }

    [Fact]
    public void Request_SystemRolesConfigAndSchemaCleanedForGemini()
    {
        var (body, dropped) = Request("""
            {"model":"gemini/g","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"},{"role":"assistant","content":"hello"},{"role":"user","content":"again"}],
             "max_tokens":5,"temperature":0.3,"stop":["END"],
             "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"$schema":"x","type":"object","properties":{"city":{"type":["string","null"]}},"required":["city"],"additionalProperties":false}}}],
             "tool_choice":{"type":"function","function":{"name":"get_weather"}}}
            """);
        Assert.Equal("Be brief.", body.GetProperty("systemInstruction").GetProperty("parts")[0].GetProperty("text").GetString());
        Assert.Equal(["user", "model", "user"], body.GetProperty("contents").EnumerateArray().Select(c => c.GetProperty("role").GetString()));
        var config = body.GetProperty("generationConfig");
        Assert.Equal((5, 0.3, "END"), (config.GetProperty("maxOutputTokens").GetInt32(), config.GetProperty("temperature").GetDouble(), config.GetProperty("stopSequences")[0].GetString()));
        var parameters = body.GetProperty("tools")[0].GetProperty("functionDeclarations")[0].GetProperty("parameters");
        Assert.False(parameters.TryGetProperty("additionalProperties", out _));
        Assert.False(parameters.TryGetProperty("$schema", out _));
        var city = parameters.GetProperty("properties").GetProperty("city");
        Assert.Equal(("string", true), (city.GetProperty("type").GetString(), city.GetProperty("nullable").GetBoolean()));
        Assert.Contains("tools.get_weather.additionalProperties", dropped);
        Assert.Equal("ANY", body.GetProperty("toolConfig").GetProperty("functionCallingConfig").GetProperty("mode").GetString());
    }

    [Fact]
    public void Request_ToolRoundTrip_NamesTheResponseAndEchoesTheThoughtSignature()
    {
        string id = GeminiToolIds.Create(0, "c2lnbmF0dXJl+/==");
        var (body, _) = Request($$$"""
            {"model":"g","messages":[{"role":"user","content":"weather"},
             {"role":"assistant","content":null,"tool_calls":[{"id":"{{{id}}}","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
             {"role":"tool","tool_call_id":"{{{id}}}","content":"Sunny"}]}
            """);
        var contents = body.GetProperty("contents");
        var callPart = contents[1].GetProperty("parts")[0];
        Assert.Equal("Paris", callPart.GetProperty("functionCall").GetProperty("args").GetProperty("city").GetString());
        Assert.Equal("c2lnbmF0dXJl+/==", callPart.GetProperty("thoughtSignature").GetString());
        var response = contents[2].GetProperty("parts")[0].GetProperty("functionResponse");
        Assert.Equal(("get_weather", "Sunny"), (response.GetProperty("name").GetString(), response.GetProperty("response").GetProperty("result").GetString()));
    }

    [Fact]
    public void Response_FunctionCallAndUsage_BecomeToolCallsWithReasoningCounted()
    {
        const string gemini = """
            {"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"c2ln"}]},"finishReason":"STOP"}],
             "usageMetadata":{"promptTokenCount":11,"candidatesTokenCount":4,"thoughtsTokenCount":6,"totalTokenCount":21},"responseId":"r1"}
            """;
        var output = new ArrayBufferWriter<byte>();
        Assert.Null(GeminiUpstreamResponse.Translate(Encoding.UTF8.GetBytes(gemini), "gemini/g", 1, "gemini", output));
        var root = JsonDocument.Parse(output.WrittenMemory).RootElement;
        var choice = root.GetProperty("choices")[0];
        Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());
        var call = choice.GetProperty("message").GetProperty("tool_calls")[0];
        Assert.Equal("{\"city\":\"Paris\"}", call.GetProperty("function").GetProperty("arguments").GetString());
        Assert.Equal("c2ln", GeminiToolIds.SignatureOf(call.GetProperty("id").GetString()));
        Assert.Equal((11, 10, 6), (root.GetProperty("usage").GetProperty("prompt_tokens").GetInt32(), root.GetProperty("usage").GetProperty("completion_tokens").GetInt32(),
            root.GetProperty("usage").GetProperty("completion_tokens_details").GetProperty("reasoning_tokens").GetInt32()));
    }

    [Theory]
    [InlineData("SAFETY", "content_filter")]
    [InlineData("MAX_TOKENS", "length")]
    [InlineData("STOP", "stop")]
    public void Response_FinishReasons_Map(string reason, string finish)
    {
        string gemini = $$"""{"candidates":[{"content":{"parts":[{"text":"x"}]},"finishReason":"{{reason}}"}]}""";
        var output = new ArrayBufferWriter<byte>();
        GeminiUpstreamResponse.Translate(Encoding.UTF8.GetBytes(gemini), "m", 1, "gemini", output);
        Assert.Equal(finish, JsonDocument.Parse(output.WrittenMemory).RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public void Response_MalformedFunctionCall_IsAnErrorNeverStop()
    {
        var error = GeminiUpstreamResponse.Translate("""{"candidates":[{"finishReason":"MALFORMED_FUNCTION_CALL"}]}"""u8, "m", 1, "gemini", new ArrayBufferWriter<byte>());
        Assert.Equal((502, "upstream_malformed_function_call"), (error!.Status, error.Code));
    }

    [Fact]
    public void Stream_CumulativeUsageCountedOnceFinishAndDoneAtTheEnd()
    {
        var translator = new GeminiUpstreamStream("gemini/g", 1, includeUsage: true, "gemini");
        var output = new ArrayBufferWriter<byte>();
        foreach (var chunk in new[]
        {
            """{"candidates":[{"content":{"role":"model","parts":[{"text":"Hel"}]}}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":1},"responseId":"r"}""",
            """{"candidates":[{"content":{"role":"model","parts":[{"text":"lo"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":2},"responseId":"r"}""",
        })
            translator.OnFrame(Encoding.UTF8.GetBytes($"data: {chunk}\r\n\r\n"), output);
        Assert.False(translator.Completed);
        translator.OnEnd(output);
        Assert.True(translator.Completed);
        var frames = Encoding.UTF8.GetString(output.WrittenSpan).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", frames[^1]);
        var chunks = frames[..^1].Select(f => JsonDocument.Parse(f[6..]).RootElement.Clone()).ToArray();
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        Assert.Equal("stop", chunks[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal((9, 2), (chunks[^1].GetProperty("usage").GetProperty("prompt_tokens").GetInt32(), chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32()));
        Assert.Single(chunks, c => c.TryGetProperty("usage", out _));
    }

    [Fact]
    public void Stream_FirstChunk_GivesThePromptSideOfTheUsage_LaterChunksDoNotChangeIt()
    {
        var translator = new GeminiUpstreamStream("m", 1, includeUsage: false, "gemini");
        var output = new ArrayBufferWriter<byte>();
        Assert.Null(translator.PromptUsage);
        translator.OnFrame("""data: {"candidates":[{"content":{"role":"model","parts":[{"text":"Hel"}]}}],"usageMetadata":{"promptTokenCount":9,"cachedContentTokenCount":4,"candidatesTokenCount":1}}"""u8, output);
        Assert.Equal(new Gateway.Core.Sse.TokenUsage(9, 0, 9, 4, 0), translator.PromptUsage);
        translator.OnFrame("""data: {"candidates":[{"content":{"role":"model","parts":[{"text":"lo"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":11,"candidatesTokenCount":2}}"""u8, output);
        Assert.Equal(9, translator.PromptUsage?.PromptTokens);
    }

    [Fact]
    public void Stream_ClosedBeforeFinishReason_IsNotCompleted()
    {
        var translator = new GeminiUpstreamStream("m", 1, includeUsage: false, "gemini");
        var output = new ArrayBufferWriter<byte>();
        translator.OnFrame("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]}}]}\r\n\r\n"u8, output);
        translator.OnEnd(output);
        Assert.False(translator.Completed);
    }
}
