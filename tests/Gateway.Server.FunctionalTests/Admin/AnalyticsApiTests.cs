using System.Text.Json;
using Gateway.Server.FunctionalTests.Infrastructure;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Admin;

/// <summary>The analytics API (issue 13, point 3) over requests that really went through the gateway.</summary>
public sealed class AnalyticsApiTests
{
    private const string Pricing = """{"pricing":{"openai/gpt-4o-mini":{"input":0,"output":125000}}}""";

    /// <summary>The series once the batch writer has stored <paramref name="requests"/> requests.</summary>
    private static async Task<JsonElement> SeriesAsync(GatewayUnderTest gateway, string query, long requests)
    {
        JsonElement body = default;
        for (int i = 0; i < 50; i++)
        {
            body = (await gateway.CallAsync(HttpMethod.Get, "/admin/v1/analytics/series?" + query)).Body;
            if (body.GetProperty("totals").GetProperty("requests").GetInt64() >= requests) break;
            await Task.Delay(100);
        }
        return body;
    }

    [Fact]
    public async Task Series_CountsWhatWasServed_PerModel_WithErrorsCostAndLatency()
    {
        await using var upstream = await TestUpstream.StartAsync();
        await using var gateway = await StartAsync(upstream, Pricing);
        var (id, key) = await gateway.NewKeyAsync("""{"name":"user"}""");
        for (int i = 0; i < 3; i++) Assert.Equal(200, (await gateway.ChatAsync(key, "openai/gpt-4o-mini", $"u{i}")).Status);
        Assert.Equal(404, (await gateway.ChatAsync(key, "nope/model", "missing")).Status);

        var all = await SeriesAsync(gateway, "interval=hour", 4);
        Assert.Equal("analytics.series", all.GetProperty("object").GetString());
        var totals = all.GetProperty("totals");
        Assert.Equal((4, 1, 30, 15), (totals.GetProperty("requests").GetInt64(), totals.GetProperty("errors").GetInt64(),
            totals.GetProperty("inputTokens").GetInt64(), totals.GetProperty("outputTokens").GetInt64()));
        Assert.Equal(15 * 0.125, totals.GetProperty("costUsd").GetDouble(), 9);
        var latency = totals.GetProperty("latencyMs");
        double p50 = latency.GetProperty("p50").GetDouble(), p99 = latency.GetProperty("p99").GetDouble();
        Assert.True(p50 > 0 && p99 >= p50 && p99 < 60_000, $"p50 {p50}, p99 {p99}");
        var point = Assert.Single(all.GetProperty("data").EnumerateArray());
        Assert.False(point.TryGetProperty("group", out _));
        Assert.EndsWith(":00:00.000Z", point.GetProperty("time").GetString(), StringComparison.Ordinal);

        var models = (await gateway.CallAsync(HttpMethod.Get, "/admin/v1/analytics/series?interval=day&groupBy=model")).Body.GetProperty("data");
        var byModel = models.EnumerateArray().ToDictionary(p => p.GetProperty("group").GetString()!, p => (p.GetProperty("requests").GetInt64(), p.GetProperty("errors").GetInt64()));
        Assert.Equal((3L, 0L), byModel["openai/gpt-4o-mini"]);
        Assert.Equal((1L, 1L), byModel["nope/model"]);
        var deployments = (await gateway.CallAsync(HttpMethod.Get, $"/admin/v1/analytics/series?groupBy=deployment&key={id}")).Body.GetProperty("data");
        Assert.Contains(deployments.EnumerateArray(), p => p.GetProperty("group").ValueKind == JsonValueKind.Null && p.GetProperty("requests").GetInt64() == 1);
        Assert.Contains(deployments.EnumerateArray(), p => p.GetProperty("group").GetString() == "openai/gpt-4o-mini" && p.GetProperty("requests").GetInt64() == 3);
        Assert.Equal(0, (await gateway.CallAsync(HttpMethod.Get, "/admin/v1/analytics/series?from=2001-01-01&to=2001-01-02")).Body.GetProperty("totals").GetProperty("requests").GetInt64());
    }

    [Fact]
    public async Task SlowestAndCostliest_AreRequestRows_MostFirst()
    {
        await using var upstream = await TestUpstream.StartAsync();
        await using var gateway = await StartAsync(upstream, Pricing);
        Assert.Equal(200, (await gateway.ChatAsync(MasterKey, "openai/gpt-4o-mini", "short")).Status);
        Assert.Equal(200, (await gateway.ChatAsync(MasterKey, "openai/gpt-4o-mini", "short too")).Status);
        await SeriesAsync(gateway, "", 2);

        var slowest = (await gateway.CallAsync(HttpMethod.Get, "/admin/v1/analytics/requests?sort=slowest&limit=2")).Body;
        var rows = slowest.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(2, rows.Count);
        Assert.True(rows[0].GetProperty("durationMs").GetDouble() >= rows[1].GetProperty("durationMs").GetDouble());
        Assert.True(rows[0].GetProperty("overheadMs").GetDouble() >= 0);
        Assert.Equal(JsonValueKind.Null, rows[0].GetProperty("policies").ValueKind);
        var costliest = (await gateway.CallAsync(HttpMethod.Get, "/admin/v1/analytics/requests?sort=costliest&limit=1&model=openai/gpt-4o-mini")).Body.GetProperty("data");
        Assert.Equal(5 * 0.125, Assert.Single(costliest.EnumerateArray()).GetProperty("costUsd").GetDouble(), 9);
    }

    [Fact]
    public async Task RangeInterval_GivesOnePointPerGroup_ForTheWholeRange()
    {
        await using var upstream = await TestUpstream.StartAsync();
        await using var gateway = await StartAsync(upstream, Pricing);
        for (int i = 0; i < 2; i++) Assert.Equal(200, (await gateway.ChatAsync(MasterKey, "openai/gpt-4o-mini", $"r{i}")).Status);
        await SeriesAsync(gateway, "", 2);
        var body = (await gateway.CallAsync(HttpMethod.Get, "/admin/v1/analytics/series?interval=range&groupBy=model&from=2026-01-01")).Body;
        var point = Assert.Single(body.GetProperty("data").EnumerateArray());
        Assert.Equal(("openai/gpt-4o-mini", 2L), (point.GetProperty("group").GetString(), point.GetProperty("requests").GetInt64()));
        Assert.StartsWith("2026-01-01T00:00:00", point.GetProperty("time").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deployments_ShowEveryGroupsLiveHealth()
    {
        await using var upstream = await TestUpstream.StartAsync();
        await using var gateway = await StartAsync(upstream, """
            { "models": { "chat": { "strategy": "round-robin", "deployments": [ { "provider": "openai", "model": "gpt-4o-mini", "weight": 2, "maxConcurrency": 4 } ] } } }
            """);
        Assert.Equal(200, (await gateway.ChatAsync(MasterKey, "chat", "via the group")).Status);
        var (status, live) = await gateway.CallAsync(HttpMethod.Get, "/admin/v1/deployments");
        Assert.Equal(200, status);
        Assert.Contains(live.GetProperty("providers").EnumerateArray(), p => p.GetProperty("name").GetString() == "openai" && p.GetProperty("type").GetString() == "openai");
        var group = Assert.Single(live.GetProperty("groups").EnumerateArray(), g => g.GetProperty("name").GetString() == "chat");
        Assert.Equal("round-robin", group.GetProperty("strategy").GetString());
        var deployment = Assert.Single(group.GetProperty("deployments").EnumerateArray());
        Assert.Equal(("openai/gpt-4o-mini", "closed", 2, 4, 0), (deployment.GetProperty("name").GetString(), deployment.GetProperty("breaker").GetString(),
            deployment.GetProperty("weight").GetInt32(), deployment.GetProperty("maxConcurrency").GetInt32(), deployment.GetProperty("inFlight").GetInt32()));
        Assert.True(deployment.GetProperty("latencyMs").GetDouble() > 0);
        var (_, plainKey) = await gateway.NewKeyAsync("""{"name":"plain"}""");
        Assert.Equal(403, (await gateway.CallAsync(HttpMethod.Get, "/admin/v1/deployments", key: plainKey)).Status);
    }

    [Fact]
    public async Task LiveState_IsServedWithoutAStore_AndStoredReportsSayWhyNot()
    {
        await using var gateway = await StartAsync(configJson: """{"storage":{"database":"none"}}""");
        Assert.Equal(200, (await gateway.CallAsync(HttpMethod.Get, "/admin/v1/deployments")).Status);
        Assert.Equal(200, (await gateway.CallAsync(HttpMethod.Get, "/admin/v1/policies")).Status);
        var (status, body) = await gateway.CallAsync(HttpMethod.Get, "/admin/v1/analytics/series");
        Assert.Equal(503, status);
        Assert.Equal("no_store", body.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Policies_ListWhatEachBinds_AndItsMeter()
    {
        string dir = Directory.CreateTempSubdirectory("gw-policy-list-").FullName;
        await File.WriteAllTextAsync(Path.Combine(dir, "tag.js"), "export function onRequest(req) { req.user = 'tagged'; return req; }\n");
        string file = Path.Combine(dir, "tag.js").Replace("\\", "/", StringComparison.Ordinal);
        await using var gateway = await StartAsync(configJson: "{\"policies\":[{\"file\":\"" + file + "\",\"models\":[\"mock/*\"],\"limits\":{\"timeoutMs\":3000}}]}");
        Assert.Equal(200, (await gateway.ChatAsync(MasterKey, "mock/echo", "once")).Status);
        var policy = Assert.Single((await gateway.CallAsync(HttpMethod.Get, "/admin/v1/policies")).Body.GetProperty("data").EnumerateArray());
        Assert.Equal(("tag", 1L, 0L), (policy.GetProperty("name").GetString(), policy.GetProperty("calls").GetInt64(), policy.GetProperty("failures").GetInt64()));
        Assert.Equal(["onRequest"], policy.GetProperty("hooks").EnumerateArray().Select(h => h.GetString()));
        Assert.Equal(["mock/*"], policy.GetProperty("models").EnumerateArray().Select(h => h.GetString()));
        Assert.False(policy.GetProperty("failOpen").GetBoolean());
    }

    [Theory]
    [InlineData("/admin/v1/analytics/series?interval=week", 400, "interval")]
    [InlineData("/admin/v1/analytics/series?groupBy=colour", 400, "groupBy")]
    [InlineData("/admin/v1/analytics/series?from=2026-12-02&to=2026-12-01", 400, "before")]
    [InlineData("/admin/v1/analytics/series?from=yesterday", 400, "ISO 8601")]
    [InlineData("/admin/v1/analytics/requests?sort=loudest", 400, "sort")]
    [InlineData("/admin/v1/analytics/requests?limit=100000", 400, "limit")]
    [InlineData("/admin/v1/analytics/heatmap", 404, "analytics/series")]
    [InlineData("/admin/v1/analytics", 404, "analytics/series")]
    public async Task BadQueries_GetAClearError(string path, int status, string mentions)
    {
        await using var gateway = await StartAsync();
        var (code, body) = await gateway.CallAsync(HttpMethod.Get, path);
        Assert.Equal(status, code);
        Assert.Contains(mentions, body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
