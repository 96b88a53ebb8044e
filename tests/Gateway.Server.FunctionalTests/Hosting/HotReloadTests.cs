using System.Net;
using Gateway.Server.FunctionalTests.Infrastructure;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Hosting;

public class HotReloadTests
{
    private static async Task<HttpStatusCode> ChatStatus(GatewayUnderTest gateway, string model)
    {
        using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat(model, "x")));
        return response.StatusCode;
    }

    private static async Task<bool> Eventually(Func<Task<bool>> condition)
    {
        for (int i = 0; i < 100; i++)
        {
            if (await condition()) return true;
            await Task.Delay(100);
        }
        return false;
    }

    [Fact]
    public async Task ValidEdit_IsServedWithoutRestart_InvalidEditKeepsLastGoodSnapshot()
    {
        await using var gateway = await StartAsync(configJson: """{ "models": { "first": "mock/echo" } }""");
        string path = Path.Combine(gateway.DataDir, "gateway.json");
        Assert.Equal(HttpStatusCode.OK, await ChatStatus(gateway, "first"));

        await File.WriteAllTextAsync(path, """{ "models": { "second": "mock/lorem" } } // edited""");
        Assert.True(await Eventually(async () => await ChatStatus(gateway, "second") == HttpStatusCode.OK), "the new alias was never served");
        Assert.Equal(HttpStatusCode.NotFound, await ChatStatus(gateway, "first"));

        await File.WriteAllTextAsync(path, """{ "models": { "third": "nowhere/x" } }""");
        await Task.Delay(1000);
        Assert.Equal(HttpStatusCode.OK, await ChatStatus(gateway, "second"));
        Assert.Equal(HttpStatusCode.NotFound, await ChatStatus(gateway, "third"));

        await File.WriteAllTextAsync(path, """{ "models": { "fourth": "mock/echo" """); // broken JSON
        await Task.Delay(1000);
        Assert.Equal(HttpStatusCode.OK, await ChatStatus(gateway, "second"));
    }

    [Fact]
    public async Task RejectedReload_ShowsInReady_DeletedFileAndNewUrlsAreLogged()
    {
        var logs = new CapturingLoggerProvider();
        await using var gateway = await StartAsync(configJson: """{ "models": { "first": "mock/echo" } }""", logs: logs);
        string path = Path.Combine(gateway.DataDir, "gateway.json");
        async Task<System.Text.Json.JsonElement> Ready()
        {
            using var response = await gateway.Client.GetAsync("/ready");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode); // the last good configuration still serves
            return System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        }
        Assert.False((await Ready()).TryGetProperty("last_reload", out _));

        await File.WriteAllTextAsync(path, """{ "models": { "broken": "nowhere/x" } }""");
        Assert.True(await Eventually(async () => (await Ready()).TryGetProperty("last_reload", out _)), "/ready never said the reload was rejected");
        var rejected = (await Ready()).GetProperty("last_reload");
        Assert.Equal("rejected", rejected.GetProperty("status").GetString());
        Assert.Contains("nowhere", rejected.GetProperty("reason").GetString(), StringComparison.Ordinal);

        await File.WriteAllTextAsync(path, """{ "server": { "urls": "http://127.0.0.1:1" }, "models": { "second": "mock/echo" } }""");
        Assert.True(await Eventually(async () => !(await Ready()).TryGetProperty("last_reload", out _)), "a good reload did not clear the failure");
        Assert.True(await Eventually(() => Task.FromResult(logs.Lines.Any(l => l.Contains("server.urls changed", StringComparison.Ordinal)))));

        File.Delete(path);
        Assert.True(await Eventually(() => Task.FromResult(logs.Lines.Any(l => l.Contains("is gone", StringComparison.Ordinal)))), "the deleted file was not logged");
        Assert.Equal(HttpStatusCode.OK, await ChatStatus(gateway, "second"));
    }

    [Fact]
    public async Task InFlightStream_FinishesOnTheSnapshotItStartedWith()
    {
        await using var gateway = await StartAsync(configJson: """{ "providers": { "mock": { "type": "mock", "chunks": 10, "chunkDelayMs": 100 } }, "models": { "slow": "mock/echo" } }""");
        string path = Path.Combine(gateway.DataDir, "gateway.json");
        var streaming = gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("slow", "the quick brown fox jumps over the lazy dog", stream: true)));
        await Task.Delay(200);
        await File.WriteAllTextAsync(path, """{ "models": { } }""");
        using var response = await streaming;
        string body = await response.Content.ReadAsStringAsync();
        Assert.Contains("data: [DONE]", body);
        Assert.True(await Eventually(async () => await ChatStatus(gateway, "slow") == HttpStatusCode.NotFound));
    }

    [Fact]
    public async Task Fallback_ResolvesAgainstTheSnapshotOfTheFirstPick_NotANewerOne()
    {
        await using var upstream = await TestUpstream.StartAsync();
        string tag = "t" + Guid.NewGuid().ToString("N")[..10];
        await using var gateway = await StartAsync(upstream, configJson: """
            { "models": { "g": { "timeouts": { "firstByteMs": 6000 }, "fallbacks": ["fb"], "deployments": [ { "provider": "openai", "model": "m1" } ] },
                          "fb": "mock/echo" } }
            """);
        string path = Path.Combine(gateway.DataDir, "gateway.json");
        var pending = gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", $"{tag} fault:slow-headers:12000")));
        // While the first deployment keeps it waiting, the configuration moves the fallback to the upstream.
        await File.WriteAllTextAsync(path, """
            { "models": { "g": { "deployments": [ { "provider": "openai", "model": "m1" } ] }, "fb": "openai/gpt-new", "reloaded": "mock/echo" } }
            """);
        Assert.True(await Eventually(async () => await ChatStatus(gateway, "reloaded") == HttpStatusCode.OK), "the new configuration was never served");
        Assert.False(pending.IsCompleted, "the first attempt ended before the reload: the test proves nothing");
        using var response = await pending;
        string body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("chatcmpl-mock", body, StringComparison.Ordinal); // the old fallback answered
        Assert.DoesNotContain(upstream.Matching(tag), r => r.Body.Contains("gpt-new", StringComparison.Ordinal));
    }
}
