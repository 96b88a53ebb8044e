using System.Net;
using Gateway.Server.FunctionalTests.Admin;
using Gateway.Server.FunctionalTests.Infrastructure;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Caching;

public class SqliteCacheTests
{
    private const string Config = """
        {
          "providers": { "oa": { "type": "openai-compatible", "baseUrl": "$UPSTREAM", "apiKey": "env:OPENAI_API_KEY" } },
          "models": { "kept": { "deployments": [ { "provider": "oa", "model": "gpt-test" } ] } },
          "cache": { "store": "sqlite", "models": { "kept": {} } }
        }
        """;

    [Fact]
    public async Task Entries_OutliveARestart()
    {
        await using var upstream = await TestUpstream.StartAsync();
        string dataDir = Directory.CreateTempSubdirectory("gw-sqlite-cache-").FullName;
        string tag = "k" + Guid.NewGuid().ToString("N")[..10];
        string first;
        await using (var gateway = await StartAsync(upstream, configJson: Config, dataDir: dataDir))
        {
            using var miss = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("kept", tag)));
            Assert.Equal("miss", miss.Headers.GetValues("x-gateway-cache").Single());
            first = await miss.Content.ReadAsStringAsync();
            // Stored off the request's path: wait until it is there.
            for (int i = 0; i < 100 && (await gateway.CallAsync(HttpMethod.Get, "/admin/v1/cache")).Body.GetProperty("entries").GetInt64() == 0; i++)
                await Task.Delay(50);
        }
        await using (var restarted = await StartAsync(upstream, configJson: Config, dataDir: dataDir))
        {
            using var hit = await restarted.Client.SendAsync(Post("/v1/chat/completions", Chat("kept", tag)));
            Assert.Equal(HttpStatusCode.OK, hit.StatusCode);
            Assert.Equal("hit", hit.Headers.GetValues("x-gateway-cache").Single());
            Assert.Equal(first, await hit.Content.ReadAsStringAsync());
        }
        Assert.Single(upstream.Matching(tag));
    }

    [Fact]
    public async Task ACacheStoreTheSettingsCannotGive_IsRefusedBeforeTheStoreIsOpened()
    {
        string data = Directory.CreateTempSubdirectory("gw-cache-order-").FullName;
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            StartAsync(dataDir: data, configJson: """{ "cache": { "store": "redis", "models": { "*": {} } } }"""));
        Assert.Contains("cache.store: \"redis\" keeps the cache in storage.redis", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(data, "gateway.db")), "the store was opened (and migrated) for a start refused by its settings");
    }

    [Fact]
    public async Task WithoutAStore_TheSqliteCacheIsAConfigError()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            StartAsync(configJson: """{ "storage": { "database": "none" }, "cache": { "store": "sqlite", "models": { "*": {} } } }"""));
        Assert.Contains("cache.store: \"sqlite\" keeps the cache in the store's database", error.Message, StringComparison.Ordinal);
    }
}
