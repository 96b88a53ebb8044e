using System.Net;
using Gateway.Server.FunctionalTests.Infrastructure;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Hosting;

public class RequestLogTests
{
    [Fact]
    public async Task LogRequests_OneLinePerRequestWithStatus()
    {
        var logs = new CapturingLoggerProvider();
        await using var gateway = await StartAsync(configJson: """{ "server": { "logRequests": true } }""", logs: logs);
        using (var ok = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("mock/echo", "x")))) Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        using (var missing = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("nope/x", "x")))) Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains(logs.Lines, l => l.StartsWith("Information: POST /v1/chat/completions 200 in ", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.StartsWith("Information: POST /v1/chat/completions 404 in ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task LogRequestsOff_NoRequestLines()
    {
        var logs = new CapturingLoggerProvider();
        await using var gateway = await StartAsync(logs: logs);
        using var ok = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("mock/echo", "x")));
        Assert.DoesNotContain(logs.Lines, l => l.Contains("POST /v1/chat/completions", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MessagesField_WithoutOpenAIEquivalent_IsLoggedNotSilentlyLost()
    {
        var logs = new CapturingLoggerProvider();
        await using var gateway = await StartAsync(logs: logs);
        var request = Post("/v1/messages", """{"model":"mock/echo","max_tokens":10,"top_k":3,"messages":[{"role":"user","content":"x"}]}""");
        using var response = await gateway.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(logs.Lines, l => l.StartsWith("Warning:", StringComparison.Ordinal) && l.Contains("top_k", StringComparison.Ordinal));
    }
}
