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
