using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Server.FunctionalTests.Infrastructure;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Endpoints;

/// <summary>The Gemini API served by the gateway (<c>/v1beta/models/{model}:generateContent</c>), routed to any provider.</summary>
public class GeminiApiTests(SharedGateway shared) : IClassFixture<SharedGateway>
{
    private HttpClient Client => shared.Gateway.Client;
    private static string Tag() => "g" + Guid.NewGuid().ToString("N")[..10];

    private static string Body(string text) =>
        "{\"systemInstruction\":{\"parts\":[{\"text\":\"Be brief.\"}]},\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"" + text + "\"}]}]}";

    private static HttpRequestMessage Generate(string path, string json, string? googKey = MasterKey)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (googKey is not null) request.Headers.Add("x-goog-api-key", googKey);
        return request;
    }

    private static async Task<JsonElement> GeminiErrorOf(HttpResponseMessage response)
    {
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal((int)response.StatusCode, error.GetProperty("code").GetInt32());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        return error;
    }

    [Fact]
    public async Task GenerateContent_ToAnOpenAIProvider_TranslatedBothWays()
    {
        string tag = Tag();
        using var response = await Client.SendAsync(Generate("/v1beta/models/openai/gpt-test:generateContent", Body(tag)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var root = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var candidate = root.GetProperty("candidates")[0];
        Assert.Equal("model", candidate.GetProperty("content").GetProperty("role").GetString());
        Assert.Equal("echo: " + tag, candidate.GetProperty("content").GetProperty("parts")[0].GetProperty("text").GetString());
        Assert.Equal("STOP", candidate.GetProperty("finishReason").GetString());
        var usage = root.GetProperty("usageMetadata");
        Assert.Equal((10, 5, 15), (usage.GetProperty("promptTokenCount").GetInt32(), usage.GetProperty("candidatesTokenCount").GetInt32(), usage.GetProperty("totalTokenCount").GetInt32()));

        var record = Assert.Single(shared.Upstream.Matching(tag));
        var sent = JsonDocument.Parse(record.Body).RootElement;
        Assert.Equal("gpt-test", sent.GetProperty("model").GetString());
        Assert.Equal(("system", "Be brief."), (sent.GetProperty("messages")[0].GetProperty("role").GetString(), sent.GetProperty("messages")[0].GetProperty("content").GetString()));
        Assert.DoesNotContain(MasterKey, string.Join("\n", record.Headers.Values));
    }

    [Fact]
    public async Task StreamGenerateContent_FramesOfGenerateContentResponses_LastWithFinishAndUsage()
    {
        string tag = Tag();
        using var response = await Client.SendAsync(Generate("/v1beta/models/openai/gpt-test:streamGenerateContent?alt=sse", Body(tag)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var frames = (await response.Content.ReadAsStringAsync()).Split("\r\n\r\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(f => JsonDocument.Parse(f["data: ".Length..]).RootElement.Clone()).ToArray();
        Assert.True(frames.Length >= 2);
        Assert.Equal("echo: " + tag, string.Concat(frames.Select(f => string.Concat(f.GetProperty("candidates")[0].GetProperty("content").GetProperty("parts")
            .EnumerateArray().Select(p => p.TryGetProperty("text", out var t) ? t.GetString() : "")))));
        Assert.Equal("STOP", frames[^1].GetProperty("candidates")[0].GetProperty("finishReason").GetString());
        Assert.Equal(15, frames[^1].GetProperty("usageMetadata").GetProperty("totalTokenCount").GetInt32());
        // Like Gemini's own streams, the frames before the last carry the prompt's count (here the tokenizer's, the
        // OpenAI-format upstream reporting usage only at its end; a byte estimate on the high side until it has loaded).
        Assert.All(frames[..^1], f => Assert.InRange(f.GetProperty("usageMetadata").GetProperty("promptTokenCount").GetInt32(), 5, 120));
        var sent = JsonDocument.Parse(Assert.Single(shared.Upstream.Matching(tag)).Body).RootElement;
        Assert.True(sent.GetProperty("stream").GetBoolean());
    }

    [Theory]
    [InlineData("/v1/models/openai/gpt-test:generateContent")]            // @google/genai's default API version
    [InlineData("/v1beta/models/openai%2Fgpt-test:generateContent")]      // the slash encoded
    [InlineData("/v1beta/models/models/openai/gpt-test:generateContent")] // "models/..." as the model
    [InlineData("/v1beta/models/fast:generateContent")]                   // an alias
    public async Task ModelInThePath_EveryFormNamesTheSameModel(string path)
    {
        string tag = Tag();
        using var response = await Client.SendAsync(Generate(path, Body(tag)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("gpt-test", JsonDocument.Parse(Assert.Single(shared.Upstream.Matching(tag)).Body).RootElement.GetProperty("model").GetString());
    }

    [Fact]
    public async Task Key_InTheQueryOrAsBearer_IsAccepted_AWrongOneIs401InGeminiShape()
    {
        using (var query = await Client.SendAsync(Generate($"/v1beta/models/openai/gpt-test:generateContent?key={MasterKey}", Body(Tag()), googKey: null)))
            Assert.Equal(HttpStatusCode.OK, query.StatusCode);
        var bearer = Generate("/v1beta/models/openai/gpt-test:generateContent", Body(Tag()), googKey: null);
        bearer.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", MasterKey);
        using (var viaBearer = await Client.SendAsync(bearer))
            Assert.Equal(HttpStatusCode.OK, viaBearer.StatusCode);

        string tag = Tag();
        foreach (var request in new[] { Generate("/v1beta/models/openai/gpt-test:generateContent", Body(tag), googKey: "wrong"),
                     Generate("/v1beta/models/openai/gpt-test:generateContent?key=wrong", Body(tag), googKey: null),
                     Generate("/v1beta/models/openai/gpt-test:generateContent", Body(tag), googKey: null) })
        {
            using var refused = await Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal("UNAUTHENTICATED", (await GeminiErrorOf(refused)).GetProperty("status").GetString());
        }
        Assert.Empty(shared.Upstream.Matching(tag));
    }

    [Fact]
    public async Task KeyInTheQuery_OnlyOnTheGeminiRoutes()
    {
        // Elsewhere a key in the URL is not looked at: it would only end up in access logs.
        using var response = await Client.SendAsync(Post($"/v1/chat/completions?key={MasterKey}", Chat("openai/gpt-test", Tag()), key: null));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("/v1beta/models/nosuch/model-x:generateContent", Body_Ok, HttpStatusCode.NotFound)]
    [InlineData("/v1beta/models/openai/gpt-test:generateContent", "{\"contents\":[]}", HttpStatusCode.BadRequest)]
    [InlineData("/v1beta/models/openai/gpt-test:generateContent", "{not json", HttpStatusCode.BadRequest)]
    public async Task BadRequests_AreAnsweredInGeminiShape(string path, string body, HttpStatusCode status)
    {
        using var response = await Client.SendAsync(Generate(path, body));
        Assert.Equal(status, response.StatusCode);
        Assert.Equal(status == HttpStatusCode.NotFound ? "NOT_FOUND" : "INVALID_ARGUMENT", (await GeminiErrorOf(response)).GetProperty("status").GetString());
    }

    private const string Body_Ok = "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}";

    [Fact]
    public async Task UpstreamFailure_KeepsItsStatus_InGeminiShape()
    {
        using var response = await Client.SendAsync(Generate("/v1beta/models/openai/gpt-test:generateContent", Body("fault:429 " + Tag())));
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("RESOURCE_EXHAUSTED", (await GeminiErrorOf(response)).GetProperty("status").GetString());
        Assert.Equal("3", response.Headers.RetryAfter?.ToString());
    }

    [Fact]
    public async Task OtherMethodsAndPaths_AreNotTheGeminiRoute()
    {
        using var get = await Client.GetAsync("/v1beta/models/openai/gpt-test:generateContent");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
        using var other = await Client.SendAsync(Generate("/v1beta/models/openai/gpt-test:countTokens", Body_Ok));
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
    }

    private Task<GatewayUnderTest> StartWithGemini() => StartAsync(shared.Upstream, configJson: """
        {
          "providers": {
            "gem": { "type": "gemini", "baseUrl": "$UPSTREAM_ROOT/gemini", "apiKey": "env:OPENAI_API_KEY" },
            "oa": { "type": "openai-compatible", "baseUrl": "$UPSTREAM", "apiKey": "env:OPENAI_API_KEY" }
          },
          "models": { "mixed": { "strategy": "round-robin", "deployments": [ { "provider": "gem", "model": "gemini-test" }, { "provider": "oa", "model": "gpt-test" } ] } }
        }
        """);

    [Fact]
    public async Task GeminiProvider_ClientBytesPassThroughUntouched_AndTheAnswerComesBackAsItCame()
    {
        await using var gateway = await StartWithGemini();
        string tag = Tag(), body = Body(tag);
        using var response = await gateway.Client.SendAsync(Generate("/v1beta/models/gem/gemini-test:generateContent", body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(TestUpstream.GeminiAnswer(tag), await response.Content.ReadAsStringAsync());
        var record = Assert.Single(shared.Upstream.Matching(tag));
        Assert.Equal(body, record.Body);
        Assert.Equal("/gemini/v1beta/models/gemini-test:generateContent", record.Path);
        Assert.Equal(TestUpstream.Key, record.Headers["x-goog-api-key"]);
        Assert.DoesNotContain(MasterKey, string.Join("\n", record.Headers.Values));
    }

    [Fact]
    public async Task GeminiProvider_StreamFramesPassThroughUntouched()
    {
        await using var gateway = await StartWithGemini();
        string tag = Tag();
        using var response = await gateway.Client.SendAsync(Generate("/v1beta/models/gem/gemini-test:streamGenerateContent?alt=sse", Body(tag)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(TestUpstream.GeminiFrame("echo: ", last: false) + TestUpstream.GeminiFrame(tag, last: true), await response.Content.ReadAsStringAsync());
        Assert.Equal("/gemini/v1beta/models/gemini-test:streamGenerateContent?alt=sse", Assert.Single(shared.Upstream.Matching(tag)).Path);
    }

    [Fact]
    public async Task GeminiProvider_StreamWithoutAFinish_EndsWithAnErrorEvent()
    {
        await using var gateway = await StartWithGemini();
        using var response = await gateway.Client.SendAsync(Generate("/v1beta/models/gem/gemini-test:streamGenerateContent?alt=sse", Body("fault:no-finish " + Tag())));
        string text = await response.Content.ReadAsStringAsync();
        var last = JsonDocument.Parse(text.Split("\r\n\r\n", StringSplitOptions.RemoveEmptyEntries)[^1]["data: ".Length..]).RootElement;
        Assert.True(last.TryGetProperty("error", out var error), text);
        Assert.True(error.GetProperty("code").GetInt32() >= 500);
    }

    [Fact]
    public async Task GeminiProvider_OwnErrorBodyAndStatusKept()
    {
        await using var gateway = await StartWithGemini();
        using var response = await gateway.Client.SendAsync(Generate("/v1beta/models/gem/gemini-test:generateContent", Body("fault:429 " + Tag())));
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("""{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}""",
            await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task GroupMixingGeminiWithOthers_IsTranslatedForEach_SoARetryCanGoToEither()
    {
        await using var gateway = await StartWithGemini();
        var paths = new List<string>();
        for (int i = 0; i < 2; i++)
        {
            string tag = Tag();
            using var response = await gateway.Client.SendAsync(Generate("/v1beta/models/mixed:generateContent", Body(tag)));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var candidate = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("candidates")[0];
            Assert.Equal("echo: " + tag, candidate.GetProperty("content").GetProperty("parts")[0].GetProperty("text").GetString());
            var record = Assert.Single(shared.Upstream.Matching(tag));
            paths.Add(record.Path);
            // Translated: the Gemini upstream gets the gateway's own Gemini request, not the client's bytes.
            if (record.Path.StartsWith("/gemini", StringComparison.Ordinal)) Assert.NotEqual(Body(tag), record.Body);
        }
        Assert.Contains(paths, p => p.StartsWith("/gemini/", StringComparison.Ordinal));
        Assert.Contains(paths, p => p.StartsWith("/v1/chat/completions", StringComparison.Ordinal));
    }
}
