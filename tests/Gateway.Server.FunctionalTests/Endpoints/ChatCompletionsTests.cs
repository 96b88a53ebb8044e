using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Server.FunctionalTests.Infrastructure;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Endpoints;

public class ChatCompletionsTests(SharedGateway shared) : IClassFixture<SharedGateway>
{
    private HttpClient Client => shared.Gateway.Client;
    private TestUpstream Upstream => shared.Upstream;
    private static string Tag() => "t" + Guid.NewGuid().ToString("N")[..10];

    private static async Task<JsonElement> ErrorOf(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal(JsonValueKind.String, error.GetProperty("message").ValueKind);
        Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
        Assert.True(error.TryGetProperty("code", out _));
        return error;
    }

    [Fact]
    public async Task NonStream_PassesThrough_ModelRewrittenProviderKeyUsedGatewayKeyNeverForwarded()
    {
        string tag = Tag();
        using var response = await Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", tag)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("echo: " + tag, json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("req-upstream-1", response.Headers.GetValues("x-upstream-request-id").Single());
        Assert.True(double.TryParse(response.Headers.GetValues("x-gateway-overhead-ms").Single(), System.Globalization.CultureInfo.InvariantCulture, out double overhead) && overhead >= 0);

        var record = Assert.Single(Upstream.Matching(tag));
        Assert.Equal($"Bearer {TestUpstream.Key}", record.Headers["authorization"]);
        Assert.DoesNotContain(MasterKey, string.Join("\n", record.Headers.Values) + record.Body);
        Assert.Equal(Chat("gpt-test", tag), record.Body); // byte-identical apart from the model
    }

    [Fact]
    public async Task Azure_DeploymentUrlApiVersionAndApiKeyHeader()
    {
        string tag = Tag();
        using var response = await Client.SendAsync(Post("/v1/chat/completions", Chat("az/chat-deployment", tag, stream: true)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("data: [DONE]", await response.Content.ReadAsStringAsync());
        var record = Assert.Single(Upstream.Matching(tag));
        Assert.Equal("/openai/deployments/chat-deployment/chat/completions?api-version=2024-10-21", record.Path);
        Assert.Equal(TestUpstream.Key, record.Headers["api-key"]);
        Assert.False(record.Headers.ContainsKey("authorization"));
    }

    [Fact]
    public async Task Bedrock_SignedConverseRequestAndTranslatedAnswer()
    {
        string tag = Tag();
        using var response = await Client.SendAsync(Post("/v1/chat/completions", Chat("aws/anthropic.claude-test-v1:0", tag)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("echo: " + tag, json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(10, json.GetProperty("usage").GetProperty("total_tokens").GetInt32());
        var record = Assert.Single(Upstream.Matching(tag));
        Assert.Equal("/bedrock/model/anthropic.claude-test-v1%3A0/converse", record.Headers["raw-target"]);
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=AKIDTESTGATEWAY/", record.Headers["authorization"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bedrock_EventStreamTranslatedToChunks()
    {
        string tag = Tag();
        using var response = await Client.SendAsync(Post("/v1/chat/completions", Chat("aws/anthropic.claude-test-v1:0", tag, stream: true, includeUsage: true)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var frames = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", frames[^1]);
        var chunks = frames[..^1].Select(f => JsonDocument.Parse(f[6..]).RootElement.Clone()).ToArray();
        Assert.Equal("echo: " + tag, string.Concat(chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0)
            .Select(c => c.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var t) ? t.GetString() : "")));
        Assert.Equal("stop", chunks[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(10, chunks[^1].GetProperty("usage").GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task Alias_RoutesToItsDeployment()
    {
        string tag = Tag();
        using var response = await Client.SendAsync(Post("/v1/chat/completions", Chat("fast", tag)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"model\":\"gpt-test\"", Assert.Single(Upstream.Matching(tag)).Body);
    }

    [Fact]
    public async Task Stream_FramesRelayedUntouched_UsageChunkRequestedUpstreamButStripped()
    {
        string tag = Tag();
        using var response = await Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", $"hello {tag} world", stream: true)), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        string body = await response.Content.ReadAsStringAsync();
        var frames = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", frames[^1]);
        Assert.DoesNotContain("\"usage\"", body);
        string text = string.Concat(frames[..^1].Select(f => JsonDocument.Parse(f[6..]).RootElement.GetProperty("choices")[0].GetProperty("delta"))
            .Select(d => d.TryGetProperty("content", out var c) ? c.GetString() : ""));
        Assert.Equal($"echo: hello {tag} world", text);
        Assert.Contains("\"stream_options\":{\"include_usage\":true}", Assert.Single(Upstream.Matching(tag)).Body);
    }

    [Fact]
    public async Task Stream_ClientAskedForUsage_GetsTheUsageChunkLast()
    {
        string tag = Tag();
        using var response = await Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", tag, stream: true, includeUsage: true)));
        var frames = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        var last = JsonDocument.Parse(frames[^2][6..]).RootElement;
        Assert.Equal(0, last.GetProperty("choices").GetArrayLength());
        Assert.Equal(15, last.GetProperty("usage").GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task Mock_StreamsInConfiguredChunks()
    {
        using var response = await Client.SendAsync(Post("/v1/chat/completions", Chat("mock/echo", "abc def ghi", stream: true)));
        var frames = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3 + 3, frames.Length); // role, 3 content chunks, finish, [DONE]
        Assert.True(response.Headers.Contains("x-gateway-overhead-ms"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-key")]
    public async Task MissingOrWrongKey_401InOpenAIShape_NothingSentUpstream(string? key)
    {
        string tag = Tag();
        using var response = await Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", tag), key));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("invalid_api_key", (await ErrorOf(response)).GetProperty("code").GetString());
        Assert.Empty(Upstream.Matching(tag));
    }

    [Fact]
    public async Task SameConnection_ValidKeyThenWrongKeys_AreEachJudgedOnTheirOwn()
    {
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 }) { BaseAddress = new Uri(shared.Gateway.Url) };
        foreach (var (key, expected) in new[] { (MasterKey, HttpStatusCode.OK), ("wrong", HttpStatusCode.Unauthorized), (MasterKey, HttpStatusCode.OK), (MasterKey + "x", HttpStatusCode.Unauthorized) })
        {
            using var response = await client.SendAsync(Post("/v1/chat/completions", Chat("mock/echo", "x"), key));
            Assert.Equal(expected, response.StatusCode);
        }
    }

    [Fact]
    public async Task WrongMethod_405WithAllow()
    {
        using var response = await Client.GetAsync("/v1/chat/completions");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Contains("POST", response.Content.Headers.Allow);
        await ErrorOf(response);
    }

    [Fact]
    public async Task XApiKeyHeader_IsAccepted()
    {
        var request = Post("/v1/chat/completions", Chat("mock/echo", "x"), key: null);
        request.Headers.Add("x-api-key", MasterKey);
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("{\"model\":\"openai/gpt-test\",\"messages\":[", 400, "invalid_json")]
    [InlineData("{\"model\":\"openai/gpt-test\"}", 400, "missing_messages")]
    [InlineData("{\"model\":\"nosuch/model\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 404, "model_not_found")]
    [InlineData("{\"model\":\"just-a-name\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 404, "model_not_found")]
    // Names a provider would put in a URL path, where '.' and '..' segments are resolved away.
    [InlineData("{\"model\":\"az/..\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 400, "invalid_model")]
    [InlineData("{\"model\":\"az/chat-deployment/../../x\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 400, "invalid_model")]
    [InlineData("{\"model\":\"openai/.\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 400, "invalid_model")]
    [InlineData("{\"model\":\"openai//gpt-test\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 400, "invalid_model")]
    [InlineData("{\"model\":\"openai/gpt-test/\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 400, "invalid_model")]
    [InlineData("{\"model\":\"az\\/\\u002e\\u002e\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 400, "invalid_model")]
    [InlineData("{\"model\":\"openai/gpt\\u0000test\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 400, "invalid_model")]
    [InlineData("{\"model\":\"openai/gpt\\r\\nx: y\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 400, "invalid_model")]
    [InlineData("{\"model\":\"openai/gpt-t\u00e9st\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 400, "invalid_model")]
    [InlineData("{\"model\":\"openai/gpt test\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 400, "invalid_model")]
    public async Task BadRequests_AnswerWithStatusAndCode(string body, int status, string code)
    {
        using var response = await Client.SendAsync(Post("/v1/chat/completions", body));
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(code, (await ErrorOf(response)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task InvalidUtf8_400_NothingSentUpstream()
    {
        string tag = Tag();
        var bytes = Encoding.UTF8.GetBytes($"{{\"model\":\"openai/gpt-test\",\"messages\":[{{\"role\":\"user\",\"content\":\"{tag} ")
            .Concat(new byte[] { 0xc3, 0x28, 0xff }).Concat("\"}]}"u8.ToArray()).ToArray();
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new ByteArrayContent(bytes) };
        request.Headers.Authorization = new("Bearer", MasterKey);
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_encoding", (await ErrorOf(response)).GetProperty("code").GetString());
        Assert.Empty(Upstream.Matching(tag));
    }

    [Fact]
    public async Task OversizeBody_DeclaredLength_413WithoutReadingIt()
    {
        var big = Chat("openai/gpt-test", new string('a', 70_000));
        using var response = await Client.SendAsync(Post("/v1/chat/completions", big));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("request_too_large", (await ErrorOf(response)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task OversizeBody_Chunked_413()
    {
        var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(Chat("openai/gpt-test", new string('a', 70_000)))));
        content.Headers.ContentType = new("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        request.Headers.Authorization = new("Bearer", MasterKey);
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task Upstream500_Kept500WithProviderMessage()
    {
        using var response = await Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", "fault:500 " + Tag())));
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Contains("The server had an error while processing your request", (await ErrorOf(response)).GetProperty("message").GetString());
    }

    [Fact]
    public async Task Upstream429_Kept429WithRetryAfter()
    {
        using var response = await Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", "fault:429 " + Tag())));
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("3", response.Headers.GetValues("retry-after").Single());
        Assert.Equal("rate_limit_exceeded", (await ErrorOf(response)).GetProperty("code").GetString());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Upstream3xx_Becomes502_NeitherFollowedNorRelayed(bool stream)
    {
        using var response = await Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", "fault:redirect " + Tag(), stream)));
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.Contains("302", (await ErrorOf(response)).GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryAnswer_CarriesARequestId_TheClientsEchoed()
    {
        static string? Id(HttpResponseMessage r) => r.Headers.TryGetValues("x-request-id", out var v) ? v.Single() : null;
        var answers = new List<HttpResponseMessage>
        {
            await Client.SendAsync(Post("/v1/chat/completions", Chat("mock/echo", "x"))),
            await Client.SendAsync(Post("/v1/chat/completions", Chat("mock/echo", "x", stream: true))),
            await Client.SendAsync(Post("/v1/chat/completions", Chat("mock/echo", "x"), key: null)),
            await Client.SendAsync(Post("/v1/chat/completions", "{\"model\":")),
            await Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", "fault:500 " + Tag()))),
            await Client.SendAsync(Post("/v1/nothing-here", "{}")),
        };
        var ids = answers.Select(Id).ToList();
        Assert.All(ids, id => Assert.False(string.IsNullOrEmpty(id)));
        Assert.Equal(ids.Count, ids.Distinct().Count());
        foreach (var r in answers) r.Dispose();

        foreach (bool stream in new[] { false, true })
        {
            var request = Post("/v1/chat/completions", Chat("mock/echo", "x", stream));
            request.Headers.Add("x-request-id", "client-Req.7_z");
            using var echoed = await Client.SendAsync(request);
            Assert.Equal("client-Req.7_z", Id(echoed));
        }
        var unusable = Post("/v1/chat/completions", Chat("mock/echo", "x"));
        unusable.Headers.TryAddWithoutValidation("x-request-id", new string('a', 200));
        using var replaced = await Client.SendAsync(unusable);
        Assert.NotEqual(new string('a', 200), Id(replaced));
    }

    [Fact]
    public async Task Head_Health_Answers()
    {
        using var head = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/health"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        using var post = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/health"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        Assert.Equal("GET, HEAD", string.Join(", ", post.Content.Headers.Allow));
    }

    [Fact]
    public async Task Upstream401_Becomes502AboutProviderCredentials()
    {
        using var response = await Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", "fault:401 " + Tag())));
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("upstream_auth_failed", (await ErrorOf(response)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task UpstreamUnreachable_502()
    {
        using var response = await Client.SendAsync(Post("/v1/chat/completions", Chat("dead/any", "x")));
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("upstream_unreachable", (await ErrorOf(response)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task UpstreamSlowHeaders_504AfterFirstByteTimeout()
    {
        var started = DateTime.UtcNow;
        using var response = await Client.SendAsync(Post("/v1/chat/completions", Chat("strict/gpt-test", "fault:slow-headers:5000 " + Tag())));
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        var error = await ErrorOf(response);
        Assert.Equal("upstream_timeout", error.GetProperty("code").GetString());
        Assert.Contains("first byte within 1000 ms", error.GetProperty("message").GetString());
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(4));
    }

    [Fact]
    public async Task StreamSlowFirstToken_504BeforeAnyHeaderWentOut()
    {
        using var response = await Client.SendAsync(Post("/v1/chat/completions", Chat("strict/gpt-test", "fault:slow-first-token:5000 " + Tag(), stream: true)));
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("upstream_timeout", (await ErrorOf(response)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task StreamPastTotalTimeout_ErrorEventAndNoDone()
    {
        using var response = await Client.SendAsync(Post("/v1/chat/completions", Chat("strict/gpt-test", "fault:slow-stream:100 " + Tag(), stream: true)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string body = await response.Content.ReadAsStringAsync();
        var frames = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.DoesNotContain("[DONE]", body);
        Assert.Equal("upstream_timeout", JsonDocument.Parse(frames[^1][6..]).RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task UpstreamResetMidStream_ClientGetsErrorEventAndNeverDone()
    {
        using var response = await Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", "fault:reset-mid-stream a b c d e " + Tag(), stream: true)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string body = await response.Content.ReadAsStringAsync();
        var frames = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.True(frames.Length >= 3, body);
        Assert.DoesNotContain("[DONE]", body);
        var error = JsonDocument.Parse(frames[^1][6..]).RootElement.GetProperty("error");
        Assert.Equal("upstream_connection_error", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task UpstreamEndsWithoutDone_ErrorEvent()
    {
        using var response = await Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", "fault:no-done " + Tag(), stream: true)));
        string body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("data: [DONE]", body);
        Assert.Contains("ended before [DONE]", body);
    }

    [Fact]
    public async Task UpstreamResetBeforeNonStreamAnswer_502()
    {
        using var response = await Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", "fault:reset-mid-stream " + Tag())));
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        await ErrorOf(response);
    }

    [Fact]
    public async Task ClientDisconnectsMidStream_UpstreamCallIsCancelled()
    {
        string tag = Tag();
        using (var client = new HttpClient { BaseAddress = new Uri(shared.Gateway.Url) })
        {
            using var response = await client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", "fault:slow-stream:200 " + tag, stream: true)), HttpCompletionOption.ResponseHeadersRead);
            var stream = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[256];
            Assert.True(await stream.ReadAsync(buffer) > 0);
        } // disposing the client closes the connection mid-stream
        var record = Assert.Single(Upstream.Matching(tag));
        var aborted = await Task.WhenAny(record.Aborted.Task, Task.Delay(5000));
        Assert.Same(record.Aborted.Task, aborted);
        Assert.False(record.Completed);
    }

    [Fact]
    public async Task UnknownRoute_404InOpenAIShape()
    {
        using var response = await Client.GetAsync("/v1/nothing-here");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        await ErrorOf(response);
    }
}
