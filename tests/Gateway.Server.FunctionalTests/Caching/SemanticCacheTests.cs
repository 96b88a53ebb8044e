using System.Net;
using System.Text.Json;
using Gateway.Server.FunctionalTests.Admin;
using Gateway.Server.FunctionalTests.Infrastructure;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Caching;

public class SemanticCacheTests
{
    private static string Tag() => "s" + Guid.NewGuid().ToString("N")[..10];

    private static string Chat(string model, string system, string text) =>
        "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"system\",\"content\":\"" + system + "\"},{\"role\":\"user\",\"content\":\"" + text + "\"}]}";

    private static async Task<(string? Cache, string? Similarity, string Body)> AskAsync(GatewayUnderTest gateway, string json, string key = MasterKey)
    {
        using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", json, key));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (response.Headers.TryGetValues("x-gateway-cache", out var c) ? c.Single() : null,
            response.Headers.TryGetValues("x-gateway-cache-similarity", out var s) ? s.Single() : null, await response.Content.ReadAsStringAsync());
    }

    // The test upstream's embeddings are one fixed vector: every prompt is alike, so what is compared is decided by the buckets alone.
    [Fact]
    public async Task ProviderEmbedder_AnyPromptOfTheSameBucket_IsASemanticHit_AndTheBucketHoldsEverythingElse()
    {
        await using var upstream = await TestUpstream.StartAsync();
        await using var gateway = await StartAsync(upstream, configJson: """
            {
              "providers": { "oa": { "type": "openai-compatible", "baseUrl": "$UPSTREAM", "apiKey": "env:OPENAI_API_KEY" } },
              "models": { "alike": { "deployments": [ { "provider": "oa", "model": "gpt-test" } ] } },
              "cache": { "models": { "alike": { "semantic": { "threshold": 0.9, "embedder": "oa/text-embedding-test" } } } }
            }
            """);
        string system = Tag(), first = Tag(), second = Tag();
        var miss = await AskAsync(gateway, Chat("alike", system, first));
        Assert.Equal(("miss", (string?)null), (miss.Cache, miss.Similarity));
        var hit = await AskAsync(gateway, Chat("alike", system, second));
        Assert.Equal(("hit", "1"), (hit.Cache, hit.Similarity));
        Assert.Equal(miss.Body, hit.Body); // the answer stored for the first prompt
        Assert.DoesNotContain(upstream.Requests, r => r.Path == "/v1/chat/completions" && r.Body.Contains(second, StringComparison.Ordinal));
        // The embedder was asked the prompt, nothing else.
        Assert.Contains(upstream.Requests, r => r.Path == "/v1/embeddings" && JsonDocument.Parse(r.Body).RootElement.GetProperty("input").GetString() == second);
        // Another system prompt is another conversation: never compared.
        Assert.Equal("miss", (await AskAsync(gateway, Chat("alike", Tag(), second))).Cache);
        // no-store: neither read nor embedded.
        using var bypass = Post("/v1/chat/completions", Chat("alike", system, Tag()));
        bypass.Headers.TryAddWithoutValidation("cache-control", "no-store");
        using var bypassed = await gateway.Client.SendAsync(bypass);
        Assert.Equal("bypass", bypassed.Headers.GetValues("x-gateway-cache").Single());

        string metrics = await gateway.Client.GetStringAsync("/metrics");
        Assert.Contains("gateway_cache_semantic_hits_total 1", metrics, StringComparison.Ordinal);
        // The request log keeps the similarity of the semantic hit (written in batches: polled).
        JsonElement? logged = null;
        for (int i = 0; i < 50 && logged is null; i++)
        {
            var rows = (await gateway.CallAsync(HttpMethod.Get, "/admin/v1/logs?model=alike&limit=50")).Body.GetProperty("data");
            logged = rows.EnumerateArray().Where(r => r.TryGetProperty("cacheSimilarity", out _)).Cast<JsonElement?>().FirstOrDefault();
            if (logged is null) await Task.Delay(100);
        }
        Assert.Equal(("hit", 1.0), (logged!.Value.GetProperty("cache").GetString(), logged.Value.GetProperty("cacheSimilarity").GetDouble()));
        var (_, purged) = await gateway.CallAsync(HttpMethod.Delete, "/admin/v1/cache?model=alike");
        Assert.True(purged.GetProperty("purged").GetInt64() >= 2);
        Assert.Equal(0, (await gateway.CallAsync(HttpMethod.Get, "/admin/v1/cache")).Body.GetProperty("semanticVectors").GetInt64());
        Assert.Equal("miss", (await AskAsync(gateway, Chat("alike", system, Tag()))).Cache);
    }

    [Fact]
    public async Task AnEmbedderThatFails_LeavesTheExactCacheServing()
    {
        await using var upstream = await TestUpstream.StartAsync();
        await using var gateway = await StartAsync(upstream, configJson: """
            {
              "providers": {
                "oa": { "type": "openai-compatible", "baseUrl": "$UPSTREAM", "apiKey": "env:OPENAI_API_KEY" },
                "dead": { "type": "openai-compatible", "baseUrl": "http://127.0.0.1:9/v1" }
              },
              "models": { "alike": { "deployments": [ { "provider": "oa", "model": "gpt-test" } ] } },
              "cache": { "models": { "alike": { "semantic": { "embedder": "dead/embed" } } } }
            }
            """);
        string system = Tag(), text = Tag();
        Assert.Equal("miss", (await AskAsync(gateway, Chat("alike", system, text))).Cache);
        Assert.Equal("hit", (await AskAsync(gateway, Chat("alike", system, text))).Cache);
        Assert.Equal("miss", (await AskAsync(gateway, Chat("alike", system, Tag()))).Cache);
    }

    /// <summary>The real local embedder (all-MiniLM-L6-v2 in its own process), built with the solution.</summary>
    [Fact]
    public async Task LocalEmbedder_APromptThatMeansTheSame_Hits_AnotherDoesNot()
    {
        string embedder = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../src/Gateway.Embedder/bin/Release/net10.0/gateway-embedder"));
        Assert.True(File.Exists(embedder), $"the local embedder is built with the solution: {embedder}");
        await using var upstream = await TestUpstream.StartAsync();
        await using var gateway = await StartAsync(upstream, env: new Dictionary<string, string> { ["GATEWAY_EMBEDDER"] = embedder }, configJson: """
            {
              "providers": { "oa": { "type": "openai-compatible", "baseUrl": "$UPSTREAM", "apiKey": "env:OPENAI_API_KEY" } },
              "models": { "alike": { "deployments": [ { "provider": "oa", "model": "gpt-test" } ] } },
              "cache": { "models": { "alike": { "semantic": { "threshold": 0.85, "embedder": "local" } } } }
            }
            """);
        // It loads its model in the background (seconds): until then requests use the exact cache alone, and their
        // answers are stored without a vector. So: a new conversation each time, until one was stored with its vector.
        string system = Tag();
        var ready = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < ready)
        {
            system = Tag();
            await AskAsync(gateway, Chat("alike", system, "What is the capital of France?"));
            if ((await gateway.CallAsync(HttpMethod.Get, "/admin/v1/cache")).Body.GetProperty("semanticVectors").GetInt64() > 0) break;
            await Task.Delay(250);
        }
        var alike = await AskAsync(gateway, Chat("alike", system, "Tell me the capital city of France."));
        Assert.Equal("hit", alike.Cache);
        Assert.InRange(double.Parse(alike.Similarity!, System.Globalization.CultureInfo.InvariantCulture), 0.85, 1.0);
        Assert.Contains("What is the capital of France?", alike.Body, StringComparison.Ordinal); // the answer to the first prompt
        var unlike = await AskAsync(gateway, Chat("alike", system, "How do I bake sourdough bread?"));
        Assert.Equal("miss", unlike.Cache);
    }
}
