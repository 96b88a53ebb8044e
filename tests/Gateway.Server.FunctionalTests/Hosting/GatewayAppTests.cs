using System.Net;
using Gateway.Server.FunctionalTests.Infrastructure;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Hosting;

/// <summary>The gateway's own lifetime (no generic host): where it says it listens, and a stop that lets requests finish.</summary>
public class GatewayAppTests
{
    [Fact]
    public async Task Stop_FinishesTheRequestInFlight_ThenRefusesNewOnes()
    {
        await using var upstream = await TestUpstream.StartAsync();
        await using var gateway = await StartAsync(upstream);
        string tag = "in flight " + Guid.NewGuid().ToString("N");
        var pending = gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-4o-mini", tag + " fault:slow-headers:1500")));
        // In flight: the upstream has it, and holds its answer for 1.5 s.
        for (int i = 0; i < 200 && upstream.Matching(tag).Length == 0; i++) await Task.Delay(25);
        Assert.Single(upstream.Matching(tag));
        Assert.False(pending.IsCompleted);

        var stopping = gateway.StopAsync();
        using (var answer = await pending)
        {
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            Assert.Contains(tag, await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        await stopping.WaitAsync(TimeSpan.FromSeconds(10));

        using var fresh = new HttpClient { BaseAddress = gateway.Client.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        await Assert.ThrowsAsync<HttpRequestException>(() => fresh.GetAsync("/health"));
    }

    [Fact]
    public async Task Start_SaysWhereItListens_AndEachRequestsLine_OnItsOutput()
    {
        var output = new StringWriter();
        await using (var gateway = await StartAsync(logOutput: output))
        {
            var request = Post("/v1/chat/completions", Chat("mock/echo", "x"));
            request.Headers.Add("x-request-id", "app-line-1");
            using var answer = await gateway.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            Assert.Contains($"info: Gateway.Lifetime[20] Now listening on: {gateway.Url}", output.ToString(), StringComparison.Ordinal);
        }
        // GATEWAY_LOG_LEVEL is Warning in tests: the lifetime and request lines are shown at any general level.
        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l,
            @"^\d\d:\d\d:\d\d\.\d{3} info: Gateway\.Requests\[4\] POST /v1/chat/completions 200 in [0-9.]+ ms: key master, chat, model mock/echo -> mock/echo, .* request app-line-1$"));
        Assert.DoesNotContain(lines, l => l.Contains(" info: Gateway[", StringComparison.Ordinal)); // the general level holds for the rest
    }
}
