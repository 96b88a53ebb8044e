using System.Net;
using System.Text.Json;
using Gateway.Server.FunctionalTests.Infrastructure;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Endpoints;

public class MessagesTests(SharedGateway shared) : IClassFixture<SharedGateway>
{
    private HttpClient Client => shared.Gateway.Client;
    private static string Tag() => "m" + Guid.NewGuid().ToString("N")[..10];

    private static string Message(string model, string text, bool stream = false) =>
        "{\"model\":\"" + model + "\",\"max_tokens\":100,\"stream\":" + (stream ? "true" : "false") +
        ",\"system\":\"Be brief.\",\"messages\":[{\"role\":\"user\",\"content\":\"" + text + "\"}]}";

    private static HttpRequestMessage PostMessages(string json, string? key = MasterKey)
    {
        var request = Post("/v1/messages", json, key: null);
        if (key is not null) request.Headers.Add("x-api-key", key);
        request.Headers.Add("anthropic-version", "2023-06-01");
        return request;
    }

    private static async Task<JsonElement> AnthropicErrorOf(HttpResponseMessage response)
    {
        var root = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("error", root.GetProperty("type").GetString());
        return root.GetProperty("error");
    }

    [Theory]
    [InlineData(new byte[] { 0x74, 0xc3, 0xa9, 0x73, 0x74 })] // "tést" in UTF-8
    [InlineData(new byte[] { 0x61, 0x01, 0x62 })]             // a control character
    public async Task PassedOnHeader_ThatHttpCannotCarry_Is400BeforeTheUpstreamCall(byte[] value)
    {
        // HttpClient will not send such a header; a raw request will.
        string tag = Tag();
        byte[] body = System.Text.Encoding.UTF8.GetBytes(Message("claude/claude-test", tag));
        var uri = new Uri(shared.Gateway.Url);
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(uri.Host, uri.Port);
        using var stream = tcp.GetStream();
        var head = System.Text.Encoding.ASCII.GetBytes($"POST /v1/messages HTTP/1.1\r\nHost: {uri.Authority}\r\nx-api-key: {MasterKey}\r\n"
            + $"content-type: application/json\r\ncontent-length: {body.Length}\r\nconnection: close\r\nanthropic-beta: ");
        await stream.WriteAsync(head.Concat(value).Concat("\r\n\r\n"u8.ToArray()).Concat(body).ToArray());
        string answer = await new StreamReader(stream).ReadToEndAsync();
        Assert.StartsWith("HTTP/1.1 400", answer, StringComparison.Ordinal);
        Assert.DoesNotContain(" 500 ", answer.Split('\n')[0], StringComparison.Ordinal);
        Assert.Empty(shared.Upstream.Matching(tag));
    }

    [Fact]
    public async Task NonStream_TranslatedBothWays()
    {
        string tag = Tag();
        using var response = await Client.SendAsync(PostMessages(Message("openai/gpt-test", tag)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var message = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("message", message.GetProperty("type").GetString());
        Assert.Equal("echo: " + tag, message.GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal("end_turn", message.GetProperty("stop_reason").GetString());
        Assert.Equal(10, message.GetProperty("usage").GetProperty("input_tokens").GetInt32());

        var upstream = JsonDocument.Parse(Assert.Single(shared.Upstream.Matching(tag)).Body).RootElement;
        Assert.Equal("gpt-test", upstream.GetProperty("model").GetString());
        Assert.Equal("system", upstream.GetProperty("messages")[0].GetProperty("role").GetString());
        Assert.Equal(100, upstream.GetProperty("max_completion_tokens").GetInt32()); // type "openai": the name reasoning models accept
    }

    [Fact]
    public async Task Stream_AnthropicEventsInOrder()
    {
        string tag = Tag();
        using var response = await Client.SendAsync(PostMessages(Message("openai/gpt-test", tag, stream: true)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e => e.Split('\n')[0]["event: ".Length..]).ToArray();
        Assert.Equal("message_start", events[0]);
        Assert.Equal(["message_delta", "message_stop"], events[^2..]);
        Assert.Contains("content_block_delta", events);
    }

    /// <summary>The usage objects of a stream's message_start and message_delta events.</summary>
    private static async Task<(JsonElement Start, JsonElement Delta)> StreamUsage(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e => JsonDocument.Parse(e.Split('\n')[1]["data: ".Length..]).RootElement.Clone()).ToArray();
        var start = events.Single(e => e.GetProperty("type").GetString() == "message_start").GetProperty("message").GetProperty("usage");
        var delta = events.Single(e => e.GetProperty("type").GetString() == "message_delta").GetProperty("usage");
        return (start, delta);
    }

    [Fact]
    public async Task Stream_Translated_MessageStartCarriesThePromptCounted_MessageDeltaTheProvidersNumbers()
    {
        string tag = Tag();
        using var response = await Client.SendAsync(PostMessages(Message("openai/gpt-test", tag, stream: true)));
        var (start, delta) = await StreamUsage(response);
        // The OpenAI-format upstream reports usage only at the end: message_start has the tokenizer's count of
        // the prompt ("Be brief." and the tag, with the chat format's few tokens around each message), or a byte
        // estimate on the high side (a third of the request's bytes) until the tokenizer has loaded.
        int estimate = start.GetProperty("input_tokens").GetInt32();
        Assert.InRange(estimate, 8, 120);
        Assert.Equal(0, start.GetProperty("output_tokens").GetInt32());
        Assert.Equal((10, 5), (delta.GetProperty("input_tokens").GetInt32(), delta.GetProperty("output_tokens").GetInt32()));
    }

    [Fact]
    public async Task Stream_TranslatedFromAnthropic_MessageStartCarriesTheProvidersOwnInputCount()
    {
        // A group mixing Anthropic with another provider is translated both ways (a retry may go to either):
        // the Anthropic upstream's message_start count reaches the client's message_start unchanged.
        await using var gateway = await StartAsync(shared.Upstream, configJson: """
            {
              "providers": {
                "claude": { "type": "anthropic", "baseUrl": "$UPSTREAM_ROOT/anthropic", "apiKey": "env:OPENAI_API_KEY" },
                "oa": { "type": "openai-compatible", "baseUrl": "$UPSTREAM", "apiKey": "env:OPENAI_API_KEY" }
              },
              "models": { "mixed": { "strategy": "round-robin", "deployments": [ { "provider": "claude", "model": "claude-test" }, { "provider": "oa", "model": "gpt-test" } ] } }
            }
            """);
        var seen = new List<(int Start, int Delta)>();
        for (int i = 0; i < 2; i++)
        {
            var request = Post("/v1/messages", Message("mixed", Tag(), stream: true), key: null);
            request.Headers.Add("x-api-key", MasterKey);
            using var response = await gateway.Client.SendAsync(request);
            var (start, delta) = await StreamUsage(response);
            seen.Add((start.GetProperty("input_tokens").GetInt32(), delta.GetProperty("input_tokens").GetInt32()));
        }
        Assert.Contains((3, 3), seen); // the Anthropic upstream's own count, in both events
        Assert.Contains(seen, s => s.Delta == 10 && s.Start > 0); // the OpenAI-format one: an estimate first
    }

    [Fact]
    public async Task AnthropicProvider_PassesThroughBytesUntouched()
    {
        string tag = Tag();
        var request = PostMessages(Message("claude/claude-test", tag));
        request.Headers.Add("anthropic-beta", "some-beta-2026");
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(TestUpstream.AnthropicAnswer, await response.Content.ReadAsStringAsync());
        var record = Assert.Single(shared.Upstream.Matching(tag));
        Assert.Equal(Message("claude-test", tag), record.Body); // only the model rewritten
        Assert.Equal(("2023-06-01", "some-beta-2026", TestUpstream.Key), (record.Headers["anthropic-version"], record.Headers["anthropic-beta"], record.Headers["x-api-key"]));
        Assert.DoesNotContain(MasterKey, string.Join("\n", record.Headers.Values));
    }

    [Fact]
    public async Task AnthropicProvider_StreamEventsUntouched()
    {
        using var response = await Client.SendAsync(PostMessages(Message("claude/claude-test", Tag(), stream: true)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(TestUpstream.AnthropicEvents, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AnthropicProvider_OwnErrorBodyAndStatusKept()
    {
        using var response = await Client.SendAsync(PostMessages(Message("claude/claude-test", "fault:529 " + Tag())));
        Assert.Equal(529, (int)response.StatusCode);
        var error = await AnthropicErrorOf(response);
        Assert.Equal(("overloaded_error", "Overloaded"), (error.GetProperty("type").GetString(), error.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task AnthropicProvider_ThroughChatCompletions_529Becomes503()
    {
        using var response = await Client.SendAsync(Post("/v1/chat/completions", Chat("claude/claude-test", "fault:529 " + Tag())));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
    }

    [Fact]
    public async Task WrongKey_401InAnthropicShape()
    {
        using var response = await Client.SendAsync(PostMessages(Message("openai/gpt-test", Tag()), key: "wrong"));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("authentication_error", (await AnthropicErrorOf(response)).GetProperty("type").GetString());
    }

    [Fact]
    public async Task MissingMaxTokens_400InAnthropicShape()
    {
        using var response = await Client.SendAsync(PostMessages("{\"model\":\"openai/gpt-test\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("max_tokens", (await AnthropicErrorOf(response)).GetProperty("message").GetString());
    }

    [Fact]
    public async Task Upstream500_500InAnthropicShapeWithProviderMessage()
    {
        using var response = await Client.SendAsync(PostMessages(Message("openai/gpt-test", "fault:500 " + Tag())));
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var error = await AnthropicErrorOf(response);
        Assert.Equal("api_error", error.GetProperty("type").GetString());
        Assert.Contains("The server had an error", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task UpstreamResetMidStream_ErrorEventNoMessageStop()
    {
        using var response = await Client.SendAsync(PostMessages(Message("openai/gpt-test", "fault:reset-mid-stream a b c " + Tag(), stream: true)));
        string body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("message_stop", body);
        Assert.Contains("event: error", body);
    }

    [Fact]
    public async Task UpstreamSendsMalformedEvent_ErrorEventAndTheGatewayKeepsServing()
    {
        using (var response = await Client.SendAsync(PostMessages(Message("openai/gpt-test", "fault:garbage-frame a b c " + Tag(), stream: true))))
        {
            string body = await response.Content.ReadAsStringAsync();
            Assert.True(body.Contains("event: error", StringComparison.Ordinal), $"{(int)response.StatusCode}: {body}");
            Assert.DoesNotContain("message_stop", body);
            Assert.Contains("malformed", body);
        }
        using var next = await Client.SendAsync(PostMessages(Message("openai/gpt-test", "still here " + Tag(), stream: true)));
        Assert.Contains("message_stop", await next.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task OldAnthropicVersion_400()
    {
        var request = Post("/v1/messages", Message("mock/echo", "x"), key: MasterKey);
        request.Headers.Add("anthropic-version", "2022-01-01");
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Mock_AnswersThroughMessages()
    {
        using var response = await Client.SendAsync(PostMessages(Message("mock/echo", "ping pong", stream: true)));
        Assert.Contains("ping pong", string.Concat((await response.Content.ReadAsStringAsync()).Split("\n").Where(l => l.Contains("text_delta"))
            .Select(l => JsonDocument.Parse(l[6..]).RootElement.GetProperty("delta").GetProperty("text").GetString())));
    }
}
