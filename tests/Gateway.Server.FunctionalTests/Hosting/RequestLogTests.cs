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
        // The line is written when the handler returns, just after the client has its answer.
        Assert.True(await Eventually(() => logs.Lines.Any(l => l.StartsWith("Information: POST /v1/chat/completions 200 in ", StringComparison.Ordinal))));
        Assert.True(await Eventually(() => logs.Lines.Any(l => l.StartsWith("Information: POST /v1/chat/completions 404 in ", StringComparison.Ordinal))));
    }

    [Fact]
    public async Task LogRequests_TheLineCarriesKeyDialectDeploymentTokensAndId()
    {
        var logs = new CapturingLoggerProvider();
        await using var gateway = await StartAsync(configJson: """{ "server": { "logRequests": true }, "models": { "al": "mock/echo" } }""", logs: logs);
        var request = Post("/v1/chat/completions", Chat("al", "count these words", stream: true));
        request.Headers.Add("x-request-id", "line-check-1");
        using (var ok = await gateway.Client.SendAsync(request)) Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.True(await Eventually(() => logs.Lines.Any(l => l.Contains("request line-check-1", StringComparison.Ordinal))));
        string line = logs.Lines.Single(l => l.Contains("request line-check-1", StringComparison.Ordinal));
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(line, @"^Information: POST /v1/chat/completions 200 in [0-9.]+ ms: key master, chat, model al -> mock/echo, attempts 1, tokens [1-9][0-9]* in [1-9][0-9]* out .*ttft [0-9.]+ ms.* Answered -, request line-check-1$"), line);
    }

    [Fact]
    public async Task ByDefault_EachRequestHasItsLine_WithItsId()
    {
        var logs = new CapturingLoggerProvider();
        await using var gateway = await StartAsync(logs: logs);
        var request = Post("/v1/chat/completions", Chat("mock/echo", "x"));
        request.Headers.Add("x-request-id", "default-line-7");
        using var ok = await gateway.Client.SendAsync(request);
        for (int i = 0; i < 30 && !logs.Lines.Any(l => l.EndsWith("request default-line-7", StringComparison.Ordinal)); i++) await Task.Delay(100);
        Assert.Contains(logs.Lines, l => l.Contains("POST /v1/chat/completions 200", StringComparison.Ordinal) && l.EndsWith("request default-line-7", StringComparison.Ordinal));
    }

    [Fact]
    public async Task LogRequestsOff_NoRequestLines()
    {
        var logs = new CapturingLoggerProvider();
        await using var gateway = await StartAsync(configJson: """{ "server": { "logRequests": false } }""", logs: logs);
        using var ok = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("mock/echo", "x")));
        await Task.Delay(300);
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

    private static async Task<bool> Eventually(Func<bool> condition)
    {
        for (int i = 0; i < 50 && !condition(); i++) await Task.Delay(20);
        return condition();
    }
}
