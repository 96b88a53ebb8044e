using System.Net;
using System.Text.Json;
using Gateway.Server.FunctionalTests.Admin;
using Gateway.Server.FunctionalTests.Infrastructure;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Caching;

/// <summary>One upstream and one gateway that caches some models and not others.</summary>
public sealed class CacheGateway : IAsyncLifetime
{
    public TestUpstream Upstream { get; private set; } = null!;
    public GatewayUnderTest Gateway { get; private set; } = null!;
    public string PolicyDir { get; } = Directory.CreateTempSubdirectory("gw-cache-policy-").FullName;

    public async Task InitializeAsync()
    {
        Upstream = await TestUpstream.StartAsync();
        string policy = Path.Combine(PolicyDir, "mark.js").Replace("\\", "/", StringComparison.Ordinal);
        // The policy marks each answer it sees: a hit goes through it again, so the mark is there once, never twice.
        await File.WriteAllTextAsync(policy, "export function onResponse(res) { res.choices[0].message.content += ' [seen]'; return res; }\n"
            + "export function onChunk(chunk) { for (const c of chunk.choices) if (c.finish_reason) c.delta.content = (c.delta.content || '') + ' [seen]'; return chunk; }");
        Gateway = await StartAsync(Upstream, configJson: $$"""
            {
              "providers": {
                "oa": { "type": "openai-compatible", "baseUrl": "$UPSTREAM", "apiKey": "env:OPENAI_API_KEY" },
                "claude": { "type": "anthropic", "baseUrl": "$UPSTREAM_ROOT/anthropic", "apiKey": "env:OPENAI_API_KEY" }
              },
              "models": {
                "cached": { "deployments": [ { "provider": "oa", "model": "gpt-test" } ] },
                "marked": { "deployments": [ { "provider": "oa", "model": "gpt-test" } ] },
                "plain": { "deployments": [ { "provider": "oa", "model": "gpt-test" } ] },
                "tiny": { "deployments": [ { "provider": "oa", "model": "gpt-test" } ] }
              },
              "policies": [ { "file": "{{policy}}", "models": ["marked"], "limits": { "timeoutMs": 3000 } } ],
              "cache": { "models": { "cached": {}, "marked": {}, "tiny": { "maxEntryBytes": 1024 }, "claude/claude-test": {}, "oa/text-embedding-test": {} } }
            }
            """);
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
        Directory.Delete(PolicyDir, recursive: true);
    }
}

public class ResponseCacheTests(CacheGateway shared) : IClassFixture<CacheGateway>
{
    private HttpClient Client => shared.Gateway.Client;
    private static string Tag() => "c" + Guid.NewGuid().ToString("N")[..10];

    private async Task<(string? Cache, string Body, HttpResponseMessage Response)> SendAsync(HttpRequestMessage request)
    {
        var response = await Client.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();
        return (response.Headers.TryGetValues("x-gateway-cache", out var v) ? v.Single() : null, body, response);
    }

    private Task<(string? Cache, string Body, HttpResponseMessage Response)> ChatAsync(string json, string? cacheControl = null, string key = MasterKey)
    {
        var request = Post("/v1/chat/completions", json, key);
        if (cacheControl is not null) request.Headers.TryAddWithoutValidation("cache-control", cacheControl);
        return SendAsync(request);
    }

    private static string Content(string body) => JsonDocument.Parse(body).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;

    private static List<JsonElement> Chunks(string body) =>
        [.. body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(f => f["data: ".Length..]).Where(d => d != "[DONE]").Select(d => JsonDocument.Parse(d).RootElement.Clone())];

    private static string StreamedText(string body) =>
        string.Concat(Chunks(body).SelectMany(c => c.GetProperty("choices").EnumerateArray())
            .Select(c => c.GetProperty("delta").TryGetProperty("content", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : ""));

    [Fact]
    public async Task ARepeat_IsAHit_WithTheSameAnswer_AndOneUpstreamCall()
    {
        string tag = Tag();
        var first = await ChatAsync(Chat("cached", tag));
        var second = await ChatAsync(Chat("cached", tag));
        Assert.Equal(("miss", "hit"), (first.Cache, second.Cache));
        Assert.Equal(first.Body, second.Body);
        Assert.Equal("echo: " + tag, Content(second.Body));
        Assert.Single(shared.Upstream.Matching(tag));
        Assert.NotNull(second.Response.Headers.Age);
        Assert.False(second.Response.Headers.Contains("x-gateway-deployment"));
    }

    [Fact]
    public async Task AWholeAnswer_IsReplayedAsAStream_AndAStreamedOne_AsWhole()
    {
        string tag = Tag();
        var whole = await ChatAsync(Chat("cached", tag));
        var streamed = await ChatAsync(Chat("cached", tag, stream: true, includeUsage: true));
        Assert.Equal(("miss", "hit"), (whole.Cache, streamed.Cache));
        Assert.Equal("text/event-stream", streamed.Response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(Content(whole.Body), StreamedText(streamed.Body));
        Assert.EndsWith("data: [DONE]\n\n", streamed.Body, StringComparison.Ordinal);
        Assert.Equal(15, Chunks(streamed.Body)[^1].GetProperty("usage").GetProperty("total_tokens").GetInt32());

        string other = Tag();
        var firstStream = await ChatAsync(Chat("cached", other, stream: true));
        var thenWhole = await ChatAsync(Chat("cached", other));
        Assert.Equal(("miss", "hit"), (firstStream.Cache, thenWhole.Cache));
        Assert.Equal(StreamedText(firstStream.Body), Content(thenWhole.Body));
        Assert.Equal(15, JsonDocument.Parse(thenWhole.Body).RootElement.GetProperty("usage").GetProperty("total_tokens").GetInt32());
        // A client that did not ask for usage in its stream does not get the usage chunk on a hit either.
        var again = await ChatAsync(Chat("cached", other, stream: true));
        Assert.Equal("hit", again.Cache);
        Assert.DoesNotContain(Chunks(again.Body), c => c.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object);
        Assert.Single(shared.Upstream.Matching(tag));
        Assert.Single(shared.Upstream.Matching(other));
    }

    [Fact]
    public async Task AnotherParameter_Misses_WhileAnotherSpellingOfTheSameRequest_Hits()
    {
        string tag = Tag();
        Assert.Equal("miss", (await ChatAsync("{\"model\":\"cached\",\"temperature\":0.2,\"messages\":[{\"role\":\"user\",\"content\":\"" + tag + "\"}]}")).Cache);
        Assert.Equal("hit", (await ChatAsync("{\"messages\":[{\"content\":\"" + tag + "\",\"role\":\"user\"}],\"temperature\":0.20,\"model\":\"cached\",\"user\":\"someone\"}")).Cache);
        Assert.Equal("miss", (await ChatAsync("{\"model\":\"cached\",\"temperature\":0.9,\"messages\":[{\"role\":\"user\",\"content\":\"" + tag + "\"}]}")).Cache);
        Assert.Equal(2, shared.Upstream.Matching(tag).Length);
    }

    [Fact]
    public async Task NoStore_Bypasses_NoCache_Refreshes()
    {
        string tag = Tag();
        Assert.Equal("bypass", (await ChatAsync(Chat("cached", tag), "no-store")).Cache);
        Assert.Equal("miss", (await ChatAsync(Chat("cached", tag))).Cache); // no-store kept nothing
        Assert.Equal("hit", (await ChatAsync(Chat("cached", tag))).Cache);
        Assert.Equal("bypass", (await ChatAsync(Chat("cached", tag), "max-age=0, No-Store")).Cache);
        Assert.Equal("refresh", (await ChatAsync(Chat("cached", tag), "no-cache")).Cache);
        Assert.Equal("hit", (await ChatAsync(Chat("cached", tag))).Cache);
        Assert.Equal(4, shared.Upstream.Matching(tag).Length); // bypass, miss, bypass, refresh
    }

    [Fact]
    public async Task AModelNotNamed_IsNotCached_AndCarriesNoHeader()
    {
        string tag = Tag();
        Assert.Null((await ChatAsync(Chat("plain", tag))).Cache);
        Assert.Null((await ChatAsync(Chat("plain", tag))).Cache);
        Assert.Equal(2, shared.Upstream.Matching(tag).Length);
    }

    [Fact]
    public async Task Failures_AndAnswersOverTheEntryBound_AreNotStored()
    {
        string tag = "fault:500-once " + Tag();
        var failed = await ChatAsync(Chat("cached", tag));
        Assert.Equal((HttpStatusCode.InternalServerError, "miss"), (failed.Response.StatusCode, failed.Cache));
        Assert.Equal("miss", (await ChatAsync(Chat("cached", tag))).Cache);
        Assert.Equal("hit", (await ChatAsync(Chat("cached", tag))).Cache);

        string big = Tag() + new string('x', 2000); // echoed back: an answer over tiny's 1 KB
        Assert.Equal("miss", (await ChatAsync(Chat("tiny", big))).Cache);
        Assert.Equal("miss", (await ChatAsync(Chat("tiny", big, stream: true))).Cache);
        Assert.Equal("miss", (await ChatAsync(Chat("tiny", big))).Cache);
    }

    [Fact]
    public async Task AnswerPolicies_RunOnAHit_AsOnAFreshAnswer()
    {
        string tag = Tag();
        var first = await ChatAsync(Chat("marked", tag));
        var second = await ChatAsync(Chat("marked", tag));
        Assert.Equal(("miss", "hit"), (first.Cache, second.Cache));
        Assert.Equal($"echo: {tag} [seen]", Content(second.Body));
        var streamed = await ChatAsync(Chat("marked", tag, stream: true));
        Assert.Equal("hit", streamed.Cache);
        Assert.Equal($"echo: {tag} [seen]", StreamedText(streamed.Body));

        string other = Tag();
        Assert.Equal("miss", (await ChatAsync(Chat("marked", other, stream: true))).Cache);
        var replay = await ChatAsync(Chat("marked", other, stream: true));
        Assert.Equal(("hit", $"echo: {other} [seen]"), (replay.Cache, StreamedText(replay.Body)));
    }

    [Fact]
    public async Task KeysOfTwoTenants_NeverShareAnEntry_AndAKeyWithoutOne_HasItsOwn()
    {
        var gateway = shared.Gateway;
        string a = Tag(), b = Tag();
        Assert.Equal(201, (await gateway.CallAsync(HttpMethod.Post, "/admin/v1/tenants", $$"""{"id":"{{a}}"}""")).Status);
        Assert.Equal(201, (await gateway.CallAsync(HttpMethod.Post, "/admin/v1/tenants", $$"""{"id":"{{b}}"}""")).Status);
        string KeyOf(JsonElement made) => made.GetProperty("key").GetString()!;
        string keyA1 = KeyOf((await gateway.CallAsync(HttpMethod.Post, "/admin/v1/keys", $$"""{"name":"{{a}}-1","tenant":"{{a}}"}""")).Body);
        string keyA2 = KeyOf((await gateway.CallAsync(HttpMethod.Post, "/admin/v1/keys", $$"""{"name":"{{a}}-2","tenant":"{{a}}"}""")).Body);
        string keyB = KeyOf((await gateway.CallAsync(HttpMethod.Post, "/admin/v1/keys", $$"""{"name":"{{b}}-1","tenant":"{{b}}"}""")).Body);
        string loose = KeyOf((await gateway.CallAsync(HttpMethod.Post, "/admin/v1/keys", $$"""{"name":"{{b}}-loose"}""")).Body);
        string tag = Tag();
        Assert.Equal("miss", (await ChatAsync(Chat("cached", tag), key: keyA1)).Cache);
        Assert.Equal("hit", (await ChatAsync(Chat("cached", tag), key: keyA2)).Cache); // same tenant
        Assert.Equal("miss", (await ChatAsync(Chat("cached", tag), key: keyB)).Cache);
        Assert.Equal("miss", (await ChatAsync(Chat("cached", tag), key: loose)).Cache);
        Assert.Equal("hit", (await ChatAsync(Chat("cached", tag), key: loose)).Cache);
        Assert.Equal(3, shared.Upstream.Matching(tag).Length);
    }

    private static HttpRequestMessage Messages(string model, string text, bool stream = false)
    {
        var request = Post("/v1/messages", "{\"model\":\"" + model + "\",\"max_tokens\":100,\"stream\":" + (stream ? "true" : "false")
            + ",\"messages\":[{\"role\":\"user\",\"content\":\"" + text + "\"}]}", key: null);
        request.Headers.Add("x-api-key", MasterKey);
        request.Headers.Add("anthropic-version", "2023-06-01");
        return request;
    }

    [Fact]
    public async Task AnthropicClient_ToAnOpenAIProvider_GetsItsHitInItsOwnForm_WholeOrStreamed()
    {
        string tag = Tag();
        var first = await SendAsync(Messages("cached", tag));
        var whole = await SendAsync(Messages("cached", tag));
        var streamed = await SendAsync(Messages("cached", tag, stream: true));
        Assert.Equal(("miss", "hit", "hit"), (first.Cache, whole.Cache, streamed.Cache));
        Assert.Equal("echo: " + tag, JsonDocument.Parse(whole.Body).RootElement.GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Contains("event: message_start", streamed.Body, StringComparison.Ordinal);
        Assert.Contains("\"text\":\"echo: " + tag + "\"", streamed.Body, StringComparison.Ordinal);
        Assert.Contains("event: message_stop", streamed.Body, StringComparison.Ordinal);
        Assert.Single(shared.Upstream.Matching(tag));
    }

    [Fact]
    public async Task AnthropicProvider_PassedThrough_IsCachedAsItCame_EachFormApart()
    {
        string tag = Tag();
        var first = await SendAsync(Messages("claude/claude-test", tag));
        var second = await SendAsync(Messages("claude/claude-test", tag));
        Assert.Equal(("miss", "hit"), (first.Cache, second.Cache));
        Assert.Equal(TestUpstream.AnthropicAnswer, second.Body);
        // The provider's own stream is kept as its events, served again only to a stream.
        Assert.Equal("miss", (await SendAsync(Messages("claude/claude-test", tag, stream: true))).Cache);
        var events = await SendAsync(Messages("claude/claude-test", tag, stream: true));
        Assert.Equal(("hit", TestUpstream.AnthropicEvents), (events.Cache, events.Body));
        Assert.Equal(2, shared.Upstream.Matching(tag).Length);
    }

    [Fact]
    public async Task Embeddings_AreCached()
    {
        string tag = Tag();
        string body = "{\"model\":\"oa/text-embedding-test\",\"input\":\"" + tag + "\"}";
        var first = await SendAsync(Post("/v1/embeddings", body));
        var second = await SendAsync(Post("/v1/embeddings", body));
        Assert.Equal(("miss", "hit"), (first.Cache, second.Cache));
        Assert.Equal(first.Body, second.Body);
        Assert.Single(shared.Upstream.Matching(tag));
    }

    [Fact]
    public async Task Hits_AreCountedInTheMetrics_AndTheRequestLog()
    {
        string tag = Tag();
        await ChatAsync(Chat("cached", tag));
        await ChatAsync(Chat("cached", tag));
        string metrics = await Client.GetStringAsync("/metrics");
        Assert.Matches("gateway_cache_requests_total\\{result=\"hit\"\\} [1-9]", metrics);
        Assert.Matches("gateway_cache_entries [1-9]", metrics);
        JsonElement rows = default;
        for (int i = 0; i < 50; i++)
        {
            rows = (await shared.Gateway.CallAsync(HttpMethod.Get, "/admin/v1/logs?model=cached&limit=200")).Body.GetProperty("data");
            if (rows.EnumerateArray().Count(r => r.TryGetProperty("cache", out var c) && c.GetString() == "hit") > 0) break;
            await Task.Delay(100);
        }
        Assert.Contains(rows.EnumerateArray(), r => r.GetProperty("cache").GetString() == "hit" && r.GetProperty("model").GetString() == "cached");
        // Daily usage counts the hit apart: a request the cache answered, with none of its tokens or cost.
        var usage = (await shared.Gateway.CallAsync(HttpMethod.Get, "/admin/v1/usage?groupBy=model")).Body.GetProperty("data").EnumerateArray()
            .Single(r => r.GetProperty("model").GetString() == "cached");
        Assert.True(usage.GetProperty("cacheHits").GetInt64() >= 1);
        Assert.True(usage.GetProperty("requests").GetInt64() >= 1);
    }

    [Fact]
    public async Task Purge_ByModelOrTenant_EmptiesWhatItNames()
    {
        var gateway = shared.Gateway;
        string tag = Tag();
        await ChatAsync(Chat("cached", tag));
        await SendAsync(Messages("claude/claude-test", tag));
        Assert.Equal("hit", (await ChatAsync(Chat("cached", tag))).Cache);
        var (status, purged) = await gateway.CallAsync(HttpMethod.Delete, "/admin/v1/cache?model=cached");
        Assert.Equal(200, status);
        Assert.True(purged.GetProperty("purged").GetInt64() >= 1);
        Assert.Equal("miss", (await ChatAsync(Chat("cached", tag))).Cache);
        Assert.Equal("hit", (await SendAsync(Messages("claude/claude-test", tag))).Cache); // another model's entries stay
        Assert.Equal(400, (await gateway.CallAsync(HttpMethod.Delete, "/admin/v1/cache?tenant=a&key=b")).Status);
        var (_, stats) = await gateway.CallAsync(HttpMethod.Get, "/admin/v1/cache");
        Assert.True(stats.GetProperty("entries").GetInt64() >= 1);
        Assert.Equal(405, (await gateway.CallAsync(HttpMethod.Post, "/admin/v1/cache", "{}")).Status);
    }
}
