using System.Net;
using Gateway.Server.FunctionalTests.Infrastructure;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Http;

/// <summary>A provider's failure reaches the log at the default level, once a second per provider however many requests fail.</summary>
public sealed class ProviderFailureLogTests : IAsyncLifetime
{
    private TestUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await TestUpstream.StartAsync();

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    [Fact]
    public async Task ProviderRefusingTheGatewaysKey_IsLoggedAtWarning_RateLimited()
    {
        var logs = new CapturingLoggerProvider();
        // The default level (Warning in tests, Information in the binary) is enough: no opt-in needed.
        await using var gateway = await StartAsync(_upstream, logs: logs);
        var first = Post("/v1/chat/completions", Chat("openai/gpt-test", "fault:401 first"));
        first.Headers.Add("x-request-id", "rid-first");
        using (var response = await gateway.Client.SendAsync(first)) Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var line = Assert.Single(logs.Lines, l => l.StartsWith("Warning:", StringComparison.Ordinal) && l.Contains("Provider openai failed", StringComparison.Ordinal));
        Assert.Contains("gpt-test", line, StringComparison.Ordinal);
        Assert.Contains("upstream_auth_failed", line, StringComparison.Ordinal);
        Assert.Contains("401", line, StringComparison.Ordinal);
        Assert.Contains("rid-first", line, StringComparison.Ordinal);

        // An outage: twenty more failures at once add a line a second at most, not twenty.
        var burst = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", $"fault:401 {i}")))));
        Assert.All(burst, r => Assert.Equal(HttpStatusCode.BadGateway, r.StatusCode));
        foreach (var r in burst) r.Dispose();
        int lines = logs.Lines.Count(l => l.StartsWith("Warning:", StringComparison.Ordinal) && l.Contains("Provider openai failed", StringComparison.Ordinal));
        Assert.InRange(lines, 1, 3);
        Assert.DoesNotContain(TestUpstream.Key, string.Concat(logs.Lines), StringComparison.Ordinal);
    }
}
