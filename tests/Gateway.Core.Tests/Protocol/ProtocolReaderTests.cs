using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Core.Protocol;

namespace Gateway.Core.Tests.Protocol;

public class ProtocolReaderTests
{
    // Built from OpenAI's API reference examples for chat completions, with every canonical field used once.
    private const string FullRequest = """
        {"model":"gpt-4o","messages":[
          {"role":"developer","content":"You are a helpful assistant."},
          {"role":"user","name":"ann","content":[{"type":"text","text":"What is in this image?"},
            {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"high"}},
            {"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}},
            {"type":"file","file":{"file_id":"file-abc","filename":"a.pdf"}}]},
          {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
          {"role":"tool","tool_call_id":"call_1","content":"Sunny"}],
         "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather now","strict":true,
           "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}}}],
         "tool_choice":{"type":"function","function":{"name":"get_weather"}},"parallel_tool_calls":false,
         "response_format":{"type":"json_schema","json_schema":{"name":"answer","strict":true,"schema":{"type":"object"}}},
         "stop":"END","max_completion_tokens":100,"temperature":0.2,"top_p":0.9,"presence_penalty":0.1,"frequency_penalty":0.2,
         "seed":42,"n":1,"stream":true,"stream_options":{"include_usage":true},"user":"u-1","reasoning_effort":"low",
         "logit_bias":{"50256":-100},"metadata":{"team":"a"}}
        """;

    private static ChatRequest Read(string json)
    {
        Assert.Null(ProtocolReader.ReadRequest(Encoding.UTF8.GetBytes(json), out var request));
        return request;
    }

    [Fact]
    public void ReadRequest_EveryCanonicalFieldTyped()
    {
        var request = Read(FullRequest);

        Assert.Equal("gpt-4o", request.Model);
        Assert.Equal(4, request.Messages.Count);
        Assert.Equal("You are a helpful assistant.", request.Messages[0].Text);
        var parts = request.Messages[1].Content!.Parts!;
        Assert.Equal("ann", request.Messages[1].Name);
        Assert.Equal(["text", "image_url", "input_audio", "file"], parts.Select(p => p.Type));
        Assert.Equal(("data:image/png;base64,iVBORw0KGgo=", "high"), (parts[1].ImageUrl!.Url, parts[1].ImageUrl!.Detail));
        Assert.Equal(("UklGRg==", "wav"), (parts[2].InputAudio!.Data, parts[2].InputAudio!.Format));
        Assert.Equal(("file-abc", "a.pdf"), (parts[3].File!.FileId, parts[3].File!.Filename));
        Assert.Null(request.Messages[2].Content);
        var call = Assert.Single(request.Messages[2].ToolCalls!);
        Assert.Equal(("call_1", "get_weather", "{\"city\":\"Paris\"}"), (call.Id, call.Function.Name, call.Function.Arguments));
        Assert.Equal(("call_1", "Sunny"), (request.Messages[3].ToolCallId, request.Messages[3].Text));

        var function = Assert.Single(request.Tools!).Function!;
        Assert.Equal(("get_weather", "Weather now", true), (function.Name, function.Description, function.Strict));
        Assert.Equal(JsonValueKind.Object, function.Parameters!.Value.ValueKind);
        Assert.Equal(ToolChoice.ForFunction("get_weather"), request.ToolChoice);
        Assert.False(request.ParallelToolCalls);
        Assert.Equal((ResponseFormat.JsonSchemaType, "answer", true), (request.ResponseFormat!.Type, request.ResponseFormat.JsonSchema!.Name, request.ResponseFormat.JsonSchema.Strict));
        Assert.Equal(["END"], request.Stop!);
        Assert.Equal(100, request.MaxOutputTokens);
        Assert.Equal((0.2, 0.9, 0.1, 0.2), (request.Temperature, request.TopP, request.PresencePenalty, request.FrequencyPenalty));
        Assert.Equal((42L, 1), (request.Seed, request.N));
        Assert.True(request.IsStreaming);
        Assert.True(request.WantsStreamUsage);
        Assert.Equal(("u-1", "low"), (request.User, request.ReasoningEffort));
    }

    [Fact]
    public void ReadRequest_UntypedFieldsKeptInExtraAndNamedForTranslators()
    {
        var request = Read("""
            {"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}],"x_note":1}],
             "tools":[{"type":"function","function":{"name":"f","x_fn":true},"x_tool":2}],"stream_options":{"include_obfuscation":false},
             "logit_bias":{"1":1},"service_tier":"flex","store":null}
            """);

        Assert.Equal(JsonValueKind.Object, request.Extra!["logit_bias"].ValueKind);
        var names = new List<string>();
        request.AddExtraFieldNames(names);
        // store is null: nothing was asked for, so nothing is lost.
        Assert.Equal(["logit_bias", "service_tier", "stream_options.include_obfuscation", "messages[0].x_note", "messages[0].content.cache_control", "tools.x_tool", "tools.function.x_fn"], names);
    }

    [Fact]
    public void Request_RoundTripsThroughTheCanonicalTypesUnchanged()
    {
        var request = Read(FullRequest);
        string written = JsonSerializer.Serialize(request, ProtocolJson.Default.ChatRequest);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(FullRequest.Replace("\"stop\":\"END\"", "\"stop\":[\"END\"]", StringComparison.Ordinal)), JsonNode.Parse(written)), written);
    }

    [Fact]
    public void ReadRequest_ContentStringAndBareImageUrlString()
    {
        var request = Read("""{"model":"m","messages":[{"role":"user","content":"plain"},{"role":"user","content":[{"type":"image_url","image_url":"https://x/y.png"}]}],"stop":["a","b"],"tool_choice":"required"}""");
        Assert.Equal("plain", request.Messages[0].Content!.Text);
        Assert.Equal("https://x/y.png", request.Messages[1].Content!.Parts![0].ImageUrl!.Url);
        Assert.Equal(["a", "b"], request.Stop!);
        Assert.Equal(new ToolChoice(ToolChoice.Required), request.ToolChoice);
    }

    [Theory]
    [InlineData("""{"model":"m","messages":"hi"}""", "$.messages")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":5}]}""", "$.messages[0].content")]
    [InlineData("""{"model":"m","messages":[],"tool_choice":"sometimes"}""", "$.tool_choice")]
    [InlineData("""{"model":"m","messages":[],"tool_choice":{"type":"function"}}""", "$.tool_choice")]
    [InlineData("""{"model":"m","messages":[],"stop":5}""", "$.stop")]
    [InlineData("""{"model":"m","messages":[],"temperature":"hot"}""", "$.temperature")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"detail":"low"}}]}]}""", "$.messages[0].content")]
    public void ReadRequest_WrongShape_Is400NamingWhere(string json, string path)
    {
        var error = ProtocolReader.ReadRequest(Encoding.UTF8.GetBytes(json), out _);
        Assert.NotNull(error);
        Assert.Equal((400, "invalid_request"), (error.Status, error.Code));
        Assert.True(error.Message.Contains(path, StringComparison.Ordinal), error.Message);
    }

    [Fact]
    public void ReadRequest_NullMessage_Is400()
    {
        var error = ProtocolReader.ReadRequest("""{"model":"m","messages":[null]}"""u8.ToArray(), out _);
        Assert.Equal((400, "invalid_messages"), (error!.Status, error.Code));
    }

    [Fact]
    public void Completion_WritesOpenAIShapeWithNullContentForToolCallsAndUsageDetails()
    {
        var completion = new ChatCompletion
        {
            Id = "chatcmpl-1", Created = 1, Model = "m",
            Choices = [new ChatChoice
            {
                Message = new ChatMessage { Role = ChatRoles.Assistant, ToolCalls = [new ToolCall { Id = "c", Function = new FunctionCall { Name = "f", Arguments = "{}" } }] },
                FinishReason = FinishReasons.ToolCalls,
            }],
            Usage = Usage.Of(10, 5, cached: 4, reasoning: 2),
        };
        string json = JsonSerializer.Serialize(completion, ProtocolJson.Default.ChatCompletion);
        var expected = JsonNode.Parse("""
            {"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,
             "message":{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}],
             "usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":2}}}
            """);
        Assert.True(JsonNode.DeepEquals(expected, JsonNode.Parse(json)), json);

        var back = ProtocolReader.ReadCompletion(Encoding.UTF8.GetBytes(json))!;
        Assert.Equal((4, 2), (back.Usage!.CachedTokens, back.Usage.ReasoningTokens));
    }

    [Fact]
    public void Chunk_ReadsStreamedToolCallFragmentsWithIndex()
    {
        var chunk = JsonSerializer.Deserialize("""
            {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"a\""}}]},"finish_reason":null}]}
            """, ProtocolJson.Default.ChatCompletionChunk)!;
        var fragment = Assert.Single(chunk.Choices[0].Delta.ToolCalls!);
        Assert.Equal((1, null, "{\"a\""), (fragment.Index, fragment.Id, fragment.Function!.Arguments));
        Assert.Null(chunk.Choices[0].FinishReason);
    }

    [Theory]
    [InlineData("data:image/png;base64,AAAA", true, "image/png", "AAAA")]
    [InlineData("data:image/png,AAAA", false, null, null)]
    [InlineData("https://example.com/a.png", false, null, null)]
    public void DataUrl_OnlyBase64Inline(string url, bool parsed, string? mediaType, string? data)
    {
        Assert.Equal(parsed, DataUrl.TryParse(url, out var inline));
        if (parsed) Assert.Equal((mediaType, data), (inline.MediaType, inline.Base64Data));
    }
}
