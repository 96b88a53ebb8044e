using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Gateway.Server.FunctionalTests.Admin;
using Gateway.Server.FunctionalTests.Infrastructure;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Observability;

/// <summary><c>/metrics</c> after known traffic: names, labels, exact counts and tokens, histograms that add up.</summary>
public sealed partial class MetricsTests
{
    /// <summary>One sample line of the exposition: name, labels, value.</summary>
    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>\S+)$")]
    internal static partial Regex SampleLine();

    private static async Task<(HttpStatusCode Status, string ContentType, string Text)> ScrapeAsync(GatewayUnderTest gateway, string? key = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        if (key is not null) request.Headers.Authorization = new("Bearer", key);
        using var response = await gateway.Client.SendAsync(request);
        return (response.StatusCode, response.Content.Headers.ContentType?.ToString() ?? "", await response.Content.ReadAsStringAsync());
    }

    /// <summary>The sum of the samples named <paramref name="name"/> whose labels include every one of <paramref name="labels"/>.</summary>
    private static double Sum(string text, string name, params string[] labels) =>
        text.Split('\n').Select(l => SampleLine().Match(l)).Where(m => m.Success && m.Groups["name"].Value == name
                && labels.All(want => m.Groups["labels"].Value.Split(',').Contains(want)))
            .Sum(m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));

    [Fact]
    public async Task AfterKnownTraffic_CountsTokensAndHistogramsAddUp()
    {
        await using var upstream = await TestUpstream.StartAsync();
        await using var gateway = await StartAsync(upstream, """{"pricing":{"openai/gpt-4o-mini":{"input":1,"output":2}}}""");
        var (status, type, before) = await ScrapeAsync(gateway);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.StartsWith("text/plain; version=0.0.4", type, StringComparison.Ordinal);
        foreach (var family in new[] { "gateway_requests_total counter", "gateway_request_duration_seconds histogram", "gateway_overhead_seconds histogram",
            "gen_ai_client_token_usage histogram", "gen_ai_server_time_to_first_token_seconds histogram", "gateway_cost_usd_total counter",
            "gateway_upstream_errors_total counter", "gateway_breaker_open gauge", "gateway_queue_depth gauge", "gateway_cache_requests_total counter",
            "gateway_log_records_dropped_total counter" })
            Assert.Contains("# TYPE " + family + "\n", before, StringComparison.Ordinal);
        Assert.Contains("gateway_log_records_dropped_total 0\n", before, StringComparison.Ordinal);

        for (int i = 0; i < 3; i++) Assert.Equal(200, (await gateway.ChatAsync(MasterKey, "openai/gpt-4o-mini", $"metrics {i}")).Status);
        using (var stream = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-4o-mini", "metrics stream", stream: true))))
            await stream.Content.ReadAsStringAsync();
        Assert.Equal(500, (await gateway.ChatAsync(MasterKey, "openai/gpt-4o-mini", "metrics fault:500")).Status);
        Assert.Equal(404, (await gateway.ChatAsync(MasterKey, "nosuch/model-a", "unrouted")).Status);

        string after = "";
        for (int i = 0; i < 20; i++)
        {
            after = (await ScrapeAsync(gateway)).Text;
            if (Sum(after, "gateway_requests_total") == 6) break;
            await Task.Delay(50);
        }
        Assert.Equal(4, Sum(after, "gateway_requests_total", "model=\"openai/gpt-4o-mini\"", "provider=\"openai\"", "status=\"200\""));
        Assert.Equal(1, Sum(after, "gateway_requests_total", "model=\"openai/gpt-4o-mini\"", "status=\"500\""));
        // A name that routed nowhere makes no series of its own.
        Assert.DoesNotContain("nosuch", after, StringComparison.Ordinal);
        Assert.Equal(1, Sum(after, "gateway_requests_total", "model=\"\"", "status=\"404\""));
        Assert.Equal(1, Sum(after, "gateway_upstream_errors_total", "provider=\"openai\""));
        // The test upstream reports 10 input and 5 output tokens per answer.
        Assert.Equal(40, Sum(after, "gen_ai_client_token_usage_sum", "gen_ai_token_type=\"input\""));
        Assert.Equal(20, Sum(after, "gen_ai_client_token_usage_sum", "gen_ai_token_type=\"output\""));
        Assert.Equal(4 * (10 * 1 + 5 * 2) / 1e6, Sum(after, "gateway_cost_usd_total", "key=\"master\""), 12);
        Assert.Equal(1, Sum(after, "gen_ai_server_time_to_first_token_seconds_count"));
        Assert.Equal(6, Sum(after, "gateway_request_duration_seconds_count"));
        Assert.Equal(6, Sum(after, "gateway_request_duration_seconds_bucket", "le=\"+Inf\""));
        Assert.Equal(6, Sum(after, "gateway_overhead_seconds_count"));
    }

    [Fact]
    public async Task WithAMetricsKey_OnlyItOrAnAdminKeyMayScrape()
    {
        await using var gateway = await StartAsync(configJson: """{"server":{"metricsKey":"scrape-me"}}""");
        Assert.Equal(HttpStatusCode.Unauthorized, (await ScrapeAsync(gateway)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await ScrapeAsync(gateway, "wrong")).Status);
        Assert.Equal(HttpStatusCode.OK, (await ScrapeAsync(gateway, "scrape-me")).Status);
        Assert.Equal(HttpStatusCode.OK, (await ScrapeAsync(gateway, MasterKey)).Status);
    }

    [Fact]
    public async Task MetricsOff_NothingServed()
    {
        await using var gateway = await StartAsync(configJson: """{"server":{"metrics":false}}""");
        Assert.Equal(HttpStatusCode.NotFound, (await ScrapeAsync(gateway, MasterKey)).Status);
    }

    [Fact]
    public async Task Deployments_ReportBreakerQueueAndInFlight()
    {
        await using var gateway = await StartAsync(configJson: """{"models":{"fast":{"deployments":[{"provider":"mock","model":"echo"}]}}}""");
        Assert.Equal(200, (await gateway.ChatAsync(MasterKey, "fast", "hello")).Status);
        var text = (await ScrapeAsync(gateway)).Text;
        Assert.Contains("gateway_breaker_open{deployment=\"mock/echo\"} 0\n", text, StringComparison.Ordinal);
        Assert.Contains("gateway_queue_depth{deployment=\"mock/echo\"} 0\n", text, StringComparison.Ordinal);
    }
}
