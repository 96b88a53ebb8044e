using System.Text.Json;
using Gateway.Server.FunctionalTests.Admin;
using Gateway.Server.FunctionalTests.Infrastructure;
using Gateway.Tests.Shared;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Scale;

/// <summary>Two gateways on one PostgreSQL and one Redis behave as one: one limit, one revocation, one usage; and Redis going away is survived as documented.</summary>
public sealed class ReplicasTests
{
    /// <summary>One worst case (8 output tokens at 125000 USD per million) is exactly 1 USD; input is free.</summary>
    private const string Pricing = """{"pricing":{"openai/gpt-4o-mini":{"input":0,"output":125000}}}""";

    private static async Task<JsonElement> ReadyAsync(GatewayUnderTest gateway)
    {
        var (status, body) = await gateway.CallAsync(HttpMethod.Get, "/ready", key: null);
        Assert.Equal(200, status);
        return body;
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, string what, int seconds = 10)
    {
        for (int i = 0; i < seconds * 10; i++)
        {
            if (await condition()) return;
            await Task.Delay(100);
        }
        Assert.Fail($"not within {seconds} s: {what}");
    }

    [Fact]
    public async Task TwoReplicas_ShareOneRpm_OneRevocation_AndOneUsage()
    {
        using var stores = new SharedStores();
        await using var upstream = await TestUpstream.StartAsync();
        await using var a = await StartAsync(upstream, Pricing, stores.With(null));
        await using var b = await StartAsync(upstream, Pricing, stores.With(null));

        if (DateTime.UtcNow.Second >= 50) await Task.Delay(TimeSpan.FromSeconds(61 - DateTime.UtcNow.Second));
        var (rpmId, rpm) = await a.NewKeyAsync("""{"name":"rpm","limits":{"rpm":4}}""");
        var statuses = new List<int>();
        for (int i = 0; i < 8; i++) statuses.Add((await (i % 2 == 0 ? a : b).ChatAsync(rpm, "mock/echo", $"rpm {i}")).Status);
        Assert.Equal([200, 200, 200, 200, 429, 429, 429, 429], statuses);

        // Usage is committed as each request ends: the other replica reads it at once, no batch to wait for.
        var (_, usage) = await b.CallAsync(HttpMethod.Get, "/admin/v1/usage?groupBy=key");
        Assert.Equal(4, usage.GetProperty("data").EnumerateArray().Single(r => r.GetProperty("key").GetString() == rpmId).GetProperty("requests").GetInt64());

        // Revoked on one replica, refused by the other on the very next request.
        var (revokedId, revoked) = await b.NewKeyAsync("""{"name":"revoked"}""");
        Assert.Equal(200, (await a.ChatAsync(revoked, "mock/echo", "before")).Status);
        Assert.Equal(200, (await a.CallAsync(HttpMethod.Delete, $"/admin/v1/keys/{revokedId}")).Status);
        Assert.Equal(401, (await b.ChatAsync(revoked, "mock/echo", "after")).Status);

        // A budget across both: 3 worst cases of 1 USD, spent by the replicas in turn (each answer costs 0.625).
        var (budgetId, budget) = await a.NewKeyAsync("""{"name":"budget","budget":{"usd":3}}""");
        var spent = new List<int>();
        for (int i = 0; i < 6; i++) spent.Add((await (i % 2 == 0 ? b : a).ChatAsync(budget, "openai/gpt-4o-mini", $"budget {i}", maxTokens: 8)).Status);
        Assert.Equal([200, 200, 200, 200, 402, 402], spent); // 2.5 spent: a fifth worst case (1) no longer fits
        // Either replica shows what both spent (Redis's count), nothing held in flight.
        foreach (var replica in new[] { a, b })
        {
            var (_, row) = await replica.CallAsync(HttpMethod.Get, $"/admin/v1/keys/{budgetId}");
            Assert.Equal((2.5, 0.0), (row.GetProperty("spend").GetProperty("usd").GetDouble(), row.GetProperty("spend").GetProperty("reservedUsd").GetDouble()));
        }

        var ready = await ReadyAsync(a);
        Assert.Equal(("ready", "postgres", "ok"), (ready.GetProperty("status").GetString(), ready.GetProperty("store").GetProperty("engine").GetString(),
            ready.GetProperty("redis").GetProperty("status").GetString()));
    }

    [Fact]
    public async Task RedisAway_LimitsFallBackToEachReplicasShare_BudgetsFailClosed_AndBothRecoverWhenItReturns()
    {
        using var redis = new PrivateRedis();
        using var stores = new SharedStores(redis.Url);
        await using var upstream = await TestUpstream.StartAsync();
        await using var a = await StartAsync(upstream, Pricing, stores.With(null));
        await using var b = await StartAsync(upstream, Pricing, stores.With(null));
        var (_, rpm) = await a.NewKeyAsync("""{"name":"rpm","limits":{"rpm":4}}""");
        var (_, budget) = await a.NewKeyAsync("""{"name":"budget","budget":{"usd":100}}""");
        Assert.Equal(200, (await a.ChatAsync(budget, "openai/gpt-4o-mini", "while up", maxTokens: 8)).Status);
        // Each replica counts the replicas listening (every 5 s): the shares are made from that count.
        await WaitAsync(async () => (await ReadyAsync(a)).GetProperty("redis").GetProperty("replicas").GetInt32() == 2, "replica a counts 2 replicas");

        redis.Stop();
        var refused = await a.ChatAsync(budget, "openai/gpt-4o-mini", "while away", maxTokens: 8);
        Assert.Equal(503, refused.Status);
        Assert.Equal("budget_unavailable", refused.Body.GetProperty("error").GetProperty("code").GetString());
        // rpm 4 over 2 replicas: 2 each while they cannot count together.
        if (DateTime.UtcNow.Second >= 55) await Task.Delay(TimeSpan.FromSeconds(61 - DateTime.UtcNow.Second));
        var alone = new List<int>();
        for (int i = 0; i < 3; i++) alone.Add((await a.ChatAsync(rpm, "mock/echo", $"alone {i}")).Status);
        Assert.Equal([200, 200, 429], alone);
        var degraded = await ReadyAsync(a);
        Assert.Equal(("degraded", "unreachable"), (degraded.GetProperty("status").GetString(), degraded.GetProperty("redis").GetProperty("status").GetString()));
        string metrics = await a.Client.GetStringAsync("/metrics");
        Assert.Contains("gateway_shared_store_up 0", metrics, StringComparison.Ordinal);
        Assert.Matches(@"gateway_shared_store_failures_total [1-9]", metrics);

        redis.Start();
        await WaitAsync(async () => (await a.ChatAsync(budget, "openai/gpt-4o-mini", "back", maxTokens: 8)).Status == 200, "a budget is served again once Redis is back", 20);
        await WaitAsync(async () => (await ReadyAsync(a)).GetProperty("status").GetString() == "ready", "ready again");
        Assert.Contains("gateway_shared_store_up 1", await a.Client.GetStringAsync("/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostgresAway_RequestsAreStillServed_ReadySaysWhy_AndTheirUsageIsWrittenWhenItReturns()
    {
        using var servers = new PrivateServers();
        await using var upstream = await TestUpstream.StartAsync();
        var env = new Dictionary<string, string> { ["GATEWAY_DATABASE_URL"] = servers.PostgresUrl, ["GATEWAY_REDIS_URL"] = servers.RedisUrl };
        await using var gateway = await StartAsync(upstream, Pricing, env);
        var (id, key) = await gateway.NewKeyAsync("""{"name":"survives"}""");
        Assert.Equal(200, (await gateway.ChatAsync(key, "mock/echo", "before")).Status);

        servers.StopPostgres();
        // Keys are checked in memory, usage is kept for later: the request is served.
        for (int i = 0; i < 3; i++) Assert.Equal(200, (await gateway.ChatAsync(key, "mock/echo", $"while away {i}")).Status);
        await WaitAsync(async () => (await ReadyAsync(gateway)).GetProperty("store").GetProperty("status").GetString() == "unreachable", "ready reports the store");
        Assert.Equal("degraded", (await ReadyAsync(gateway)).GetProperty("status").GetString());
        var (refused, error) = await gateway.CallAsync(HttpMethod.Post, "/admin/v1/keys", """{"name":"not now"}""");
        Assert.Equal((503, "store_unavailable"), (refused, error.GetProperty("error").GetProperty("code").GetString()));

        servers.StartPostgres();
        // The rows kept meanwhile are written (with their usage) once it is back.
        await WaitAsync(async () =>
        {
            var (status, usage) = await gateway.CallAsync(HttpMethod.Get, "/admin/v1/usage?groupBy=key");
            return status == 200 && usage.GetProperty("data").EnumerateArray().Any(r => r.GetProperty("key").GetString() == id && r.GetProperty("requests").GetInt64() == 4);
        }, "usage counts the 3 requests served while the store was away", 30);
        await WaitAsync(async () => (await ReadyAsync(gateway)).GetProperty("status").GetString() == "ready", "ready again");
        var (_, logs) = await gateway.CallAsync(HttpMethod.Get, $"/admin/v1/logs?key={id}&limit=10");
        Assert.Equal(4, logs.GetProperty("data").GetArrayLength());
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("database")]
    public async Task WithASharedCache_AnAnswerOneReplicaStored_IsAHitOnTheOther_AndAPurgeOnEitherEmptiesBoth(string store)
    {
        using var stores = new SharedStores();
        await using var upstream = await TestUpstream.StartAsync();
        string config = "{\"cache\":{\"store\":\"" + store + "\",\"models\":{\"openai/gpt-4o-mini\":{}}}}";
        await using var a = await StartAsync(upstream, config, stores.With(null));
        await using var b = await StartAsync(upstream, config, stores.With(null));
        var first = await a.ChatAsync(MasterKey, "openai/gpt-4o-mini", "shared cache");
        Assert.Equal((200, "miss"), (first.Status, first.Response.Header("x-gateway-cache")));
        // The miss is stored off the request's path; once replica a has written it, replica b finds it.
        await WaitAsync(async () => (await a.CallAsync(HttpMethod.Get, "/admin/v1/cache")).Body.GetProperty("entries").GetInt64() == 1, "the entry is stored");
        var hit = await b.ChatAsync(MasterKey, "openai/gpt-4o-mini", "shared cache");
        Assert.Equal("hit", hit.Response.Header("x-gateway-cache"));
        Assert.Equal(first.Body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(),
            hit.Body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Single(upstream.Matching("shared cache"));

        var (purged, body) = await b.CallAsync(HttpMethod.Delete, "/admin/v1/cache");
        Assert.Equal((200, 1), (purged, body.GetProperty("purged").GetInt32()));
        Assert.Equal("miss", (await a.ChatAsync(MasterKey, "openai/gpt-4o-mini", "shared cache")).Response.Header("x-gateway-cache"));
    }

    [Fact]
    public async Task SlowStores_HoldARequestOnlyToTheirBound_ThenTheFallbackServes_AndNothingIsCountedTwice()
    {
        using var servers = new PrivateServers();
        using var redis = new PrivateRedis();
        await using var upstream = await TestUpstream.StartAsync();
        var env = new Dictionary<string, string> { ["GATEWAY_DATABASE_URL"] = servers.PostgresUrl, ["GATEWAY_REDIS_URL"] = redis.Url };
        await using var gateway = await StartAsync(upstream, Pricing, env);
        var (id, rpm) = await gateway.NewKeyAsync("""{"name":"slow","limits":{"rpm":1000}}""");
        var (_, budget) = await gateway.NewKeyAsync("""{"name":"slow budget","budget":{"usd":100}}""");
        Assert.Equal(200, (await gateway.ChatAsync(rpm, "mock/echo", "warm")).Status);
        Assert.Equal(200, (await gateway.ChatAsync(budget, "openai/gpt-4o-mini", "warm", maxTokens: 8)).Status);

        // Redis hangs: Redis's 1 s timeout, then this replica's share serves; a budget fails closed.
        redis.Pause();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(200, (await gateway.ChatAsync(rpm, "mock/echo", "redis slow")).Status);
        Assert.Equal(503, (await gateway.ChatAsync(budget, "openai/gpt-4o-mini", "redis slow", maxTokens: 8)).Status);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(6), $"two requests took {clock.Elapsed} with Redis hanging");
        redis.Resume();
        await WaitAsync(async () => (await gateway.ChatAsync(budget, "openai/gpt-4o-mini", "redis back", maxTokens: 8)).Status == 200, "budgets served again", 20);

        // PostgreSQL hangs: the usage commit is waited for 2 s at most, then left to the request log's writer.
        servers.PausePostgres();
        clock.Restart();
        Assert.Equal(200, (await gateway.ChatAsync(rpm, "mock/echo", "postgres slow")).Status);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"a request took {clock.Elapsed} with PostgreSQL hanging");
        servers.ResumePostgres();
        // warm, redis slow, postgres slow: three answers, each counted once (the late commit lands, and the writer does not add it again).
        await WaitAsync(async () =>
        {
            var (status, usage) = await gateway.CallAsync(HttpMethod.Get, "/admin/v1/logs?key=" + id + "&limit=10");
            return status == 200 && usage.GetProperty("data").GetArrayLength() == 3;
        }, "the request log has the three requests", 30);
        var (_, rows) = await gateway.CallAsync(HttpMethod.Get, "/admin/v1/usage?groupBy=key");
        Assert.Equal(3, rows.GetProperty("data").EnumerateArray().Single(r => r.GetProperty("key").GetString() == id).GetProperty("requests").GetInt64());
    }

    [Fact]
    public async Task ADeploymentsBudget_IsSpentOnceAcrossReplicas_NotOncePerReplica()
    {
        using var stores = new SharedStores();
        await using var upstream = await TestUpstream.StartAsync();
        const string config = """
            {
              "pricing": {"openai/gpt-4o-mini": {"input": 0, "output": 125000}},
              "models": {"smart": {"deployments": [{"provider": "openai", "model": "gpt-4o-mini", "budget": {"usd": 1, "period": "1d"}}], "fallbacks": ["spare"]},
                         "spare": {"deployments": [{"provider": "mock", "model": "echo"}]}}
            }
            """;
        await using var a = await StartAsync(upstream, config, stores.With(null));
        await using var b = await StartAsync(upstream, config, stores.With(null));
        // Each answer costs 0.625 USD: one on each replica spends past the 1 USD budget of the deployment they share.
        Assert.Equal("openai/gpt-4o-mini", (await a.ChatAsync(MasterKey, "smart", "paid on a", maxTokens: 8)).Response.Header("x-gateway-deployment"));
        Assert.Equal("openai/gpt-4o-mini", (await b.ChatAsync(MasterKey, "smart", "paid on b", maxTokens: 8)).Response.Header("x-gateway-deployment"));
        // Each replica reads the deployment's spend across both within a second (alone, each spent 0.625 of 1):
        // both route elsewhere from then on.
        foreach (var replica in new[] { a, b })
        {
            await WaitAsync(async () =>
            {
                var (_, live) = await replica.CallAsync(HttpMethod.Get, "/admin/v1/deployments");
                return live.GetProperty("groups").EnumerateArray().Single(g => g.GetProperty("name").GetString() == "smart")
                    .GetProperty("deployments")[0].GetProperty("overBudget").GetBoolean();
            }, "the deployment is over its budget on every replica", 5);
            Assert.Equal("spare", (await replica.ChatAsync(MasterKey, "smart", "over budget")).Response.Header("x-gateway-fallback"));
        }
        Assert.Empty(upstream.Matching("over budget"));
    }
}
