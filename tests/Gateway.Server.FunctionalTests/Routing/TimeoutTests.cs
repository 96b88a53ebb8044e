using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Gateway.Core;
using Gateway.Server.FunctionalTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Routing;

/// <summary>The connect and idle limits, per group and per provider, against real sockets.</summary>
public sealed class TimeoutTests : IAsyncLifetime
{
    private TestUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await TestUpstream.StartAsync();

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : "";

    [Fact]
    public async Task Idle_AStreamThatGoesQuiet_EndsWithAnErrorEvent_AndOpensTheBreaker()
    {
        await using var gateway = await StartAsync(_upstream, configJson: """
            { "providers": { "a": { "type": "openai-compatible", "baseUrl": "$UPSTREAM", "apiKey": "env:OPENAI_API_KEY" } },
              "models": { "g": { "timeouts": { "idleMs": 300 }, "breaker": { "failures": 1, "coolDownMs": 60000 }, "deployments": [ { "provider": "a", "model": "m1" } ] } } }
            """);
        var clock = Stopwatch.StartNew();
        // The first event comes at once, then two seconds of silence before the next.
        using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", "fault:slow-stream:2000", stream: true)));
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(1900), $"the stream ended after {clock.Elapsed}, not at the idle limit");
        Assert.Contains("did not send the next stream event within 300 ms", body, StringComparison.Ordinal);
        Assert.DoesNotContain("[DONE]", body, StringComparison.Ordinal);
        var deployment = gateway.Parts.Snapshots.Current.Groups["g"].Deployments[0];
        Assert.True(deployment.State.IsOpen);
    }

    [Fact]
    public async Task Idle_OnMessages_EndsWithAnAnthropicErrorEvent()
    {
        await using var gateway = await StartAsync(_upstream, configJson: """
            { "providers": { "a": { "type": "openai-compatible", "baseUrl": "$UPSTREAM", "apiKey": "env:OPENAI_API_KEY" } },
              "models": { "g": { "timeouts": { "idleMs": 300 }, "deployments": [ { "provider": "a", "model": "m1" } ] } } }
            """);
        using var response = await gateway.Client.SendAsync(Post("/v1/messages", """{"model":"g","max_tokens":20,"stream":true,"messages":[{"role":"user","content":"fault:slow-stream:2000"}]}"""));
        string body = await response.Content.ReadAsStringAsync();
        Assert.Contains("event: error", body, StringComparison.Ordinal);
        Assert.Contains("did not send the next stream event within 300 ms", body, StringComparison.Ordinal);
        Assert.DoesNotContain("message_stop", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Idle_FromTheProvider_AppliesToProviderModelRoutesToo()
    {
        await using var gateway = await StartAsync(_upstream, configJson: """
            { "providers": { "a": { "type": "openai-compatible", "baseUrl": "$UPSTREAM", "apiKey": "env:OPENAI_API_KEY", "idleTimeoutMs": 300 } } }
            """);
        using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("a/m1", "fault:slow-stream:2000", stream: true)));
        Assert.Contains("did not send the next stream event within 300 ms", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Idle_AStreamThatKeepsComing_IsNotCut()
    {
        await using var gateway = await StartAsync(_upstream, configJson: """
            { "providers": { "a": { "type": "openai-compatible", "baseUrl": "$UPSTREAM", "apiKey": "env:OPENAI_API_KEY", "idleTimeoutMs": 1000 } } }
            """);
        // Two hundred events 20 ms apart: four seconds of stream, never a second quiet.
        using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("a/m1", "fault:slow-stream:20", stream: true)));
        string body = await response.Content.ReadAsStringAsync();
        Assert.Contains("[DONE]", body, StringComparison.Ordinal);
        Assert.DoesNotContain("\"error\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connect_AGroupsShorterLimit_MovesOnToTheFallbackInTime()
    {
        // A listener that never accepts, its backlog filled: the kernel drops further SYNs, so a
        // connect hangs as it would on a black-holed host (loopback only).
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(0);
        int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var fillers = new List<Socket>();
        for (int i = 0; i < 4; i++)
        {
            var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            _ = filler.ConnectAsync(IPAddress.Loopback, port);
            fillers.Add(filler);
        }
        await Task.Delay(200);
        try
        {
            await using var gateway = await StartAsync(_upstream, configJson: $$"""
                { "providers": {
                    "stuck": { "type": "openai-compatible", "baseUrl": "http://127.0.0.1:{{port}}/v1", "apiKey": "env:OPENAI_API_KEY" },
                    "a": { "type": "openai-compatible", "baseUrl": "$UPSTREAM", "apiKey": "env:OPENAI_API_KEY" } },
                  "models": {
                    "g": { "timeouts": { "connectMs": 300 }, "fallbacks": ["fb"], "deployments": [ { "provider": "stuck", "model": "x" } ] },
                    "fb": { "deployments": [ { "provider": "a", "model": "m1" } ] } } }
                """);
            var clock = Stopwatch.StartNew();
            using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", "hello")));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("fb", Header(response, "x-gateway-fallback"));
            // The provider's own connect limit is 10 s: only the group's 300 ms gets here this soon.
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"answered after {clock.Elapsed}");
        }
        finally
        {
            foreach (var filler in fillers) filler.Dispose();
        }
    }
}
