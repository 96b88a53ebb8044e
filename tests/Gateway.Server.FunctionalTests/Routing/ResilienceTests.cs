using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Gateway.Server.FunctionalTests.Infrastructure;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Routing;

/// <summary>Retries, fallbacks, breakers and the headers that tell the client, against the fault-injecting upstream.</summary>
public sealed class ResilienceTests : IAsyncLifetime
{
    private TestUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await TestUpstream.StartAsync();

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    private Task<GatewayUnderTest> Start(string modelsJson, CapturingLoggerProvider? logs = null) => StartAsync(_upstream, logs: logs, configJson: $$"""
        {
          "providers": {
            "a": { "type": "openai-compatible", "baseUrl": "$UPSTREAM", "apiKey": "env:OPENAI_API_KEY" },
            "b": { "type": "openai-compatible", "baseUrl": "$UPSTREAM", "apiKey": "env:OPENAI_API_KEY" },
            "dead": { "type": "openai-compatible", "baseUrl": "http://127.0.0.1:9/v1", "connectTimeoutMs": 500 }
          },
          "models": {{modelsJson}}
        }
        """);

    private static string Tag() => "t" + Guid.NewGuid().ToString("N")[..10];

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : "";

    [Fact]
    public async Task OneOff500_IsRetried_AttemptsHeaderSaysSo()
    {
        await using var gateway = await Start("""{ "g": { "retries": 2, "deployments": [ { "provider": "a", "model": "m1" } ] } }""");
        string tag = Tag();
        using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", $"{tag} fault:500-once")));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("2", Header(response, "x-gateway-attempts"));
        Assert.Equal("a/m1", Header(response, "x-gateway-deployment"));
        Assert.Equal(2, _upstream.Matching(tag).Length);
    }

    [Fact]
    public async Task Retry_GoesToAnotherDeploymentWhenThereIsOne()
    {
        await using var gateway = await Start("""{ "g": { "retries": 1, "strategy": "round-robin", "deployments": [ { "provider": "a", "model": "m1" }, { "provider": "b", "model": "m2" } ] } }""");
        for (int i = 0; i < 4; i++)
        {
            string tag = Tag();
            using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", $"{tag} fault:500-model:m1")));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("b/m2", Header(response, "x-gateway-deployment"));
        }
    }

    [Fact]
    public async Task Messages_RoundRobinTakesTurns_OnePickPerRequest()
    {
        await using var gateway = await Start("""{ "g": { "strategy": "round-robin", "deployments": [ { "provider": "a", "model": "m1" }, { "provider": "b", "model": "m2" } ] } }""");
        var served = new List<string>();
        for (int i = 0; i < 4; i++)
        {
            using var response = await gateway.Client.SendAsync(Post("/v1/messages", """{"model":"g","max_tokens":20,"messages":[{"role":"user","content":"x"}]}"""));
            served.Add(Header(response, "x-gateway-deployment"));
        }
        Assert.Equal(2, served.Distinct().Count());
        Assert.NotEqual(served[0], served[1]);
    }

    [Fact]
    public async Task EveryDeploymentFails_TheFallbackAnswers_AndTheHeaderNamesIt()
    {
        await using var gateway = await Start("""
            { "g": { "retries": 1, "fallbacks": ["fb"], "deployments": [ { "provider": "a", "model": "m1" } ] },
              "fb": { "deployments": [ { "provider": "mock", "model": "echo" } ] } }
            """);
        string tag = Tag();
        using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", $"{tag} fault:500")));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("fb", Header(response, "x-gateway-fallback"));
        Assert.Equal("3", Header(response, "x-gateway-attempts"));
        Assert.Contains("fault:500", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(2, _upstream.Matching(tag).Length);
    }

    [Fact]
    public async Task Messages_RetriesAndFallsBackToo()
    {
        await using var gateway = await Start("""
            { "g": { "retries": 1, "fallbacks": ["fb"], "deployments": [ { "provider": "a", "model": "m1" } ] },
              "fb": { "deployments": [ { "provider": "mock", "model": "echo" } ] } }
            """);
        string once = Tag();
        using (var retried = await gateway.Client.SendAsync(Post("/v1/messages", $$"""{"model":"g","max_tokens":20,"messages":[{"role":"user","content":"{{once}} fault:500-once"}]}""")))
        {
            Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
            Assert.Equal("2", Header(retried, "x-gateway-attempts"));
        }
        using var fellBack = await gateway.Client.SendAsync(Post("/v1/messages", $$"""{"model":"g","max_tokens":20,"messages":[{"role":"user","content":"{{Tag()}} fault:500"}]}"""));
        Assert.Equal(HttpStatusCode.OK, fellBack.StatusCode);
        Assert.Equal("fb", Header(fellBack, "x-gateway-fallback"));
        Assert.Equal("message", JsonDocument.Parse(await fellBack.Content.ReadAsStringAsync()).RootElement.GetProperty("type").GetString());
    }

    [Fact]
    public async Task AllBreakersOpen_TheRequestWaitsForTheProbe_ThenSucceeds()
    {
        await using var gateway = await Start("""{ "g": { "breaker": { "failures": 1, "coolDownMs": 600 }, "deployments": [ { "provider": "a", "model": "m1" } ] } }""");
        using (var failed = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", $"{Tag()} fault:500"))))
            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        var started = System.Diagnostics.Stopwatch.StartNew();
        using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", "after the cool-down")));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(started.Elapsed >= TimeSpan.FromMilliseconds(400), $"answered after {started.Elapsed}: it did not wait for the probe");
    }

    [Fact]
    public async Task BreakerOpeningAFailedProbeAndClosing_AreLogged()
    {
        var logs = new CapturingLoggerProvider();
        await using var gateway = await Start("""{ "g": { "breaker": { "failures": 1, "coolDownMs": 300 }, "deployments": [ { "provider": "a", "model": "m1" } ] } }""", logs);
        using (var failed = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", $"{Tag()} fault:500"))))
            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.Contains(logs.Lines, l => l.StartsWith("Warning:", StringComparison.Ordinal) && l.Contains("Circuit breaker opened for a/m1", StringComparison.Ordinal));
        // The next request waits for the probe; the probe fails again: another cool-down.
        using (var probe = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", $"{Tag()} fault:500"))))
            Assert.Equal(HttpStatusCode.InternalServerError, probe.StatusCode);
        Assert.Contains(logs.Lines, l => l.Contains("Circuit breaker for a/m1: the probe failed", StringComparison.Ordinal));
        // A probe that succeeds closes it (logged at Information, which this test host does not print).
        using (var ok = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", "fine"))))
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(1, logs.Lines.Count(l => l.Contains("Circuit breaker opened", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task AllBreakersOpen_AProbeLaterThanTheRequestsOwnLimit_IsNotWaitedFor()
    {
        await using var gateway = await Start("""{ "g": { "breaker": { "failures": 1, "coolDownMs": 5000 }, "deployments": [ { "provider": "a", "model": "m1" } ] } }""");
        using (var failed = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", $"{Tag()} fault:500"))))
            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var request = Post("/v1/chat/completions", Chat("g", "in a hurry"));
        request.Headers.Add("x-gateway-timeout-ms", "1000");
        using var response = await gateway.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("deployments_unavailable", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(3), $"answered after {started.Elapsed}: it waited for a probe past its own limit");
    }

    [Fact]
    public async Task GroupFirstByteTimeout_EndsASlowAttempt_AndIsRetried()
    {
        await using var gateway = await Start("""{ "g": { "retries": 1, "timeouts": { "firstByteMs": 300 }, "deployments": [ { "provider": "a", "model": "m1" } ] } }""");
        var started = System.Diagnostics.Stopwatch.StartNew();
        string tag = Tag();
        using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", $"{tag} fault:slow-headers:3000")));
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("2", Header(response, "x-gateway-attempts"));
        Assert.Equal(2, _upstream.Matching(tag).Length);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(2.5), $"took {started.Elapsed}");
    }

    [Fact]
    public async Task SlowFirstToken_BeforeAnyByteReachedTheClient_MovesToTheNextDeployment()
    {
        await using var gateway = await Start("""
            { "g": { "timeouts": { "firstByteMs": 300 }, "fallbacks": ["fb"], "deployments": [ { "provider": "a", "model": "m1" } ] },
              "fb": { "deployments": [ { "provider": "mock", "model": "echo" } ] } }
            """);
        string tag = Tag();
        var started = System.Diagnostics.Stopwatch.StartNew();
        using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", $"{tag} fault:slow-first-token:3000", stream: true)));
        string body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("fb", Header(response, "x-gateway-fallback"));
        Assert.Contains("chatcmpl-mock", body, StringComparison.Ordinal); // the mock answered
        Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(2.5), $"took {started.Elapsed}");
        Assert.Single(_upstream.Matching(tag));
    }

    [Fact]
    public async Task SlowFirstToken_OnMessages_MovesToTheNextDeploymentAsChatDoes()
    {
        await using var gateway = await Start("""
            { "g": { "timeouts": { "firstByteMs": 300 }, "fallbacks": ["fb"], "deployments": [ { "provider": "a", "model": "m1" } ] },
              "fb": { "deployments": [ { "provider": "mock", "model": "echo" } ] } }
            """);
        string tag = Tag();
        var request = Post("/v1/messages", $$"""{"model":"g","max_tokens":20,"stream":true,"messages":[{"role":"user","content":"{{tag}} fault:slow-first-token:3000"}]}""");
        request.Headers.Add("anthropic-version", "2023-06-01");
        var started = System.Diagnostics.Stopwatch.StartNew();
        using var response = await gateway.Client.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("fb", Header(response, "x-gateway-fallback"));
        Assert.Contains("event: message_start", body, StringComparison.Ordinal);
        Assert.Contains("event: content_block_delta", body, StringComparison.Ordinal); // the mock answered
        Assert.EndsWith("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n", body, StringComparison.Ordinal);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(2.5), $"took {started.Elapsed}");
        Assert.Single(_upstream.Matching(tag));
    }

    [Fact]
    public async Task TimeoutHeader_ShortensTheWait_NeverLengthensIt()
    {
        await using var gateway = await Start("""{ "g": { "timeouts": { "totalMs": 60000 }, "deployments": [ { "provider": "a", "model": "m1" } ] } }""");
        var request = Post("/v1/chat/completions", Chat("g", $"{Tag()} fault:slow-headers:3000"));
        request.Headers.Add("x-gateway-timeout-ms", "300");
        var started = System.Diagnostics.Stopwatch.StartNew();
        using var response = await gateway.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(2), $"took {started.Elapsed}");
    }

    [Fact]
    public async Task FullDeployment_QueueServesHighBeforeLow()
    {
        await using var gateway = await Start("""{ "g": { "queue": { "maxWaitMs": 10000 }, "deployments": [ { "provider": "a", "model": "m1", "maxConcurrency": 1 } ] } }""");
        string tag = Tag();
        var state = gateway.Parts.Deployments.Get("a", "m1");
        var busy = gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", $"{tag} first fault:slow-headers:1500")));
        Assert.True(await Until(() => state.InFlight == 1), "the first request never took the slot");
        var lowRequest = Post("/v1/chat/completions", Chat("g", $"{tag} prio-low"));
        lowRequest.Headers.Add("x-gateway-priority", "low");
        var low = gateway.Client.SendAsync(lowRequest);
        Assert.True(await Until(() => state.Queued == 1), "the low request never queued");
        var high = gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", $"{tag} prio-high"))); // the master key's own priority: high
        Assert.True(await Until(() => state.Queued == 2), "the high request never queued");
        using (await busy) { }
        using (var l = await low) Assert.Equal(HttpStatusCode.OK, l.StatusCode);
        using (var h = await high) Assert.Equal(HttpStatusCode.OK, h.StatusCode);
        var order = _upstream.Matching(tag).Select(r => r.Body.Contains("prio-high", StringComparison.Ordinal) ? "high" : r.Body.Contains("prio-low", StringComparison.Ordinal) ? "low" : "first").ToArray();
        Assert.Equal(["first", "high", "low"], order);
    }

    [Theory]
    [InlineData(true, HttpStatusCode.OK)]
    [InlineData(false, HttpStatusCode.BadRequest)]
    public async Task ContextLengthError_FallsBackToALargerModel_OnlyWhereConfigured(bool configured, HttpStatusCode expected)
    {
        string on = configured ? "\"fallbackOn\": [\"context_length\"]," : "";
        await using var gateway = await Start($$"""
            { "g": { "retries": 2, {{on}} "fallbacks": ["big"], "deployments": [ { "provider": "a", "model": "m1" } ] },
              "big": { "deployments": [ { "provider": "mock", "model": "echo" } ] } }
            """);
        string tag = Tag();
        using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", $"{tag} fault:context-length")));
        Assert.Equal(expected, response.StatusCode);
        Assert.Single(_upstream.Matching(tag)); // never retried on the same group: it would fail the same way
        if (configured) Assert.Equal("big", Header(response, "x-gateway-fallback"));
    }

    [Fact]
    public async Task CapabilityFilters_AnImageGoesToAVisionDeployment_OrIsA400WhenNoneCan()
    {
        await using var gateway = await Start("""
            { "g": { "strategy": "round-robin", "deployments": [ { "provider": "a", "model": "m1", "capabilities": [] }, { "provider": "b", "model": "m2", "capabilities": ["vision"] } ] },
              "text": { "deployments": [ { "provider": "a", "model": "m1", "capabilities": ["tools"] } ] } }
            """);
        const string image = """{"model":"MODEL","messages":[{"role":"user","content":[{"type":"text","text":"what is this"},{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]}""";
        for (int i = 0; i < 3; i++)
        {
            using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", image.Replace("MODEL", "g", StringComparison.Ordinal)));
            Assert.Equal("b/m2", Header(response, "x-gateway-deployment"));
        }
        using var refused = await gateway.Client.SendAsync(Post("/v1/chat/completions", image.Replace("MODEL", "text", StringComparison.Ordinal)));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("model_not_capable", JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Rpm_SpreadsOverDeploymentsThenRefusesWithRetryAfter()
    {
        await using var gateway = await Start("""{ "g": { "strategy": "round-robin", "deployments": [ { "provider": "a", "model": "m1", "rpm": 1 }, { "provider": "b", "model": "m2", "rpm": 1 } ] } }""");
        var served = new List<string>();
        for (int i = 0; i < 2; i++)
        {
            using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", "x")));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            served.Add(Header(response, "x-gateway-deployment"));
        }
        Assert.Equal(["a/m1", "b/m2"], served.Order());
        using var refused = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", "x")));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("rpm_exceeded", JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.True(refused.Headers.RetryAfter!.Delta!.Value.TotalSeconds > 10); // the minute turns in about 60 s, past the queue's 10 s wait
    }

    [Fact]
    public async Task Tpm_ReservesPromptAndMaxTokens_ThenRefusesWithTpmExceeded()
    {
        await using var gateway = await Start("""{ "g": { "deployments": [ { "provider": "a", "model": "m1", "tpm": 1000 }, { "provider": "b", "model": "m2", "tpm": 1000 } ] } }""");
        var served = new List<string>();
        for (int i = 0; i < 2; i++)
        {
            // About 10 prompt tokens + 600 asked for the answer: one such request per deployment per minute.
            using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", """{"model":"g","max_tokens":600,"messages":[{"role":"user","content":"hello"}]}"""));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            served.Add(Header(response, "x-gateway-deployment"));
        }
        Assert.Equal(["a/m1", "b/m2"], served.Order());
        using var refused = await gateway.Client.SendAsync(Post("/v1/chat/completions", """{"model":"g","max_tokens":600,"messages":[{"role":"user","content":"hello"}]}"""));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("tpm_exceeded", JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.True(refused.Headers.RetryAfter!.Delta!.Value.TotalSeconds > 10);
        // A smaller request still fits what is left of the minute.
        using var small = await gateway.Client.SendAsync(Post("/v1/chat/completions", """{"model":"g","max_tokens":100,"messages":[{"role":"user","content":"hello"}]}"""));
        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
    }

    [Fact]
    public async Task ContextWindow_CountsTokensNotBytes()
    {
        await using var gateway = await Start("""
            { "g": { "strategy": "lowest-cost", "deployments": [
                { "provider": "a", "model": "small", "contextWindow": 400, "inputPrice": 0.1, "outputPrice": 0.4 },
                { "provider": "b", "model": "large", "contextWindow": 200000, "inputPrice": 3, "outputPrice": 15 } ] } }
            """);
        // 1,400 bytes but about 100 tokens: a byte estimate (350 + 100) would not fit the small model; the count (about 210) does.
        string text = string.Concat(Enumerable.Repeat("international ", 100));
        using var fits = await gateway.Client.SendAsync(Post("/v1/chat/completions", $$"""{"model":"g","max_tokens":100,"messages":[{"role":"user","content":"{{text}}"}]}"""));
        Assert.Equal(HttpStatusCode.OK, fits.StatusCode);
        Assert.Equal("a/small", Header(fits, "x-gateway-deployment"));
        using var tooLong = await gateway.Client.SendAsync(Post("/v1/chat/completions", $$"""{"model":"g","max_tokens":300,"messages":[{"role":"user","content":"{{text}}"}]}"""));
        Assert.Equal(HttpStatusCode.OK, tooLong.StatusCode);
        Assert.Equal("b/large", Header(tooLong, "x-gateway-deployment"));
    }

    private static async Task<bool> Until(Func<bool> condition)
    {
        for (int i = 0; i < 200 && !condition(); i++) await Task.Delay(10);
        return condition();
    }

    [Fact]
    public async Task NoRetriesNoFallback_TheProvidersErrorReachesTheClient()
    {
        await using var gateway = await Start("""{ "g": { "deployments": [ { "provider": "a", "model": "m1" } ] } }""");
        using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", $"{Tag()} fault:500")));
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("1", Header(response, "x-gateway-attempts"));
    }

    [Fact]
    public async Task ClientError_IsNotRetried()
    {
        await using var gateway = await Start("""{ "g": { "retries": 3, "deployments": [ { "provider": "a", "model": "m1" } ] } }""");
        string tag = Tag();
        using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", $"{tag} fault:401")));
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode); // the provider refused our key: a config fault, not retried
        Assert.Single(_upstream.Matching(tag));
    }

    [Fact]
    public async Task RetryAfter_TheDeploymentRests_TheRequestWaitsThenSucceeds()
    {
        await using var gateway = await Start("""{ "g": { "retries": 1, "deployments": [ { "provider": "a", "model": "m1" } ] } }""");
        string tag = Tag();
        var started = System.Diagnostics.Stopwatch.StartNew();
        using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", $"{tag} fault:429-once")));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(started.Elapsed >= TimeSpan.FromMilliseconds(900), $"answered after {started.Elapsed}, before retry-after: 1");
        Assert.Equal(2, _upstream.Matching(tag).Length);
    }

    [Fact]
    public async Task ResetMidStream_AfterBytesReachedTheClient_IsNotRetried()
    {
        await using var gateway = await Start("""{ "g": { "retries": 3, "deployments": [ { "provider": "a", "model": "m1" } ] } }""");
        string tag = Tag();
        using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", $"{tag} fault:reset-mid-stream a b c d", stream: true)));
        string body = await response.Content.ReadAsStringAsync();
        Assert.Contains("\"error\"", body, StringComparison.Ordinal);
        Assert.DoesNotContain("[DONE]", body, StringComparison.Ordinal);
        Assert.Single(_upstream.Matching(tag));
    }

    [Fact]
    public async Task Breaker_OpensAfterConsecutiveFailures_ThenTheDeploymentIsSkipped()
    {
        await using var gateway = await Start("""{ "g": { "retries": 1, "strategy": "round-robin", "deployments": [ { "provider": "dead", "model": "x" }, { "provider": "a", "model": "m1" } ] } }""");
        for (int i = 0; i < 12; i++)
        {
            using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", "x")));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        // Five failures of 'dead' opened its breaker: from then on every request goes straight to 'a'.
        for (int i = 0; i < 6; i++)
        {
            using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", "x")));
            Assert.Equal(("1", "a/m1"), (Header(response, "x-gateway-attempts"), Header(response, "x-gateway-deployment")));
        }
    }

    [Fact]
    public async Task StreamsThatBreakMidway_CountTowardTheBreaker()
    {
        await using var gateway = await Start("""{ "g": { "strategy": "round-robin", "breaker": { "failures": 2, "coolDownMs": 60000 }, "deployments": [ { "provider": "a", "model": "m1" }, { "provider": "b", "model": "m2" } ] } }""");
        // Round robin: four requests, two per deployment, each stream cut after its first words.
        for (int i = 0; i < 4; i++)
        {
            using var broken = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", $"{Tag()} fault:reset-mid-stream a b c d", stream: true)));
            Assert.Contains("\"error\"", await broken.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        var state = gateway.Parts.Snapshots.Current.Groups["g"].Deployments;
        Assert.All(state, d => Assert.True(d.State.IsOpen, d.Name));
    }

    [Fact]
    public async Task RatioBreaker_OpensADeploymentThatFailsHalfItsCalls()
    {
        await using var gateway = await Start("""
            { "g": { "strategy": "round-robin", "breaker": { "failures": 100, "failureRatio": 0.5, "minimumCalls": 6, "windowMs": 60000 },
                     "deployments": [ { "provider": "a", "model": "m1" }, { "provider": "b", "model": "m2" } ] } }
            """);
        // In each four requests, round robin gives m1 one that fails it and one that does not: half its
        // calls fail, never many in a row, so only the ratio can open it. m2 never fails.
        for (int i = 0; i < 16; i++)
        {
            string text = i % 4 < 2 ? "fault:500-model:m1" : "x";
            using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", text)));
        }
        var deployments = gateway.Parts.Snapshots.Current.Groups["g"].Deployments;
        Assert.True(deployments[0].State.IsOpen);
        Assert.False(deployments[1].State.IsOpen);
        Assert.True(deployments[0].State.ConsecutiveFailures < 100);
    }

    [Fact]
    public async Task Messages_ARetryOnAnotherKindOfProvider_GetsTheOutputLimitNameThatOneKnows()
    {
        await using var gateway = await StartAsync(_upstream, configJson: """
            { "providers": {
                "oa": { "type": "openai", "baseUrl": "$UPSTREAM", "apiKey": "env:OPENAI_API_KEY" },
                "b": { "type": "openai-compatible", "baseUrl": "$UPSTREAM", "apiKey": "env:OPENAI_API_KEY" } },
              "models": { "g": { "strategy": "round-robin", "retries": 1, "deployments": [ { "provider": "oa", "model": "m1" }, { "provider": "b", "model": "m2" } ] } } }
            """);
        string tag = Tag();
        // Round robin: one of the two requests starts on OpenAI (m1, which fails) and is retried on the compatible server.
        for (int i = 0; i < 2; i++)
        {
            using var response = await gateway.Client.SendAsync(Post("/v1/messages", $$"""{"model":"g","max_tokens":20,"messages":[{"role":"user","content":"{{tag}} fault:500-model:m1"}]}"""));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        var sent = _upstream.Matching(tag).Select(r => JsonDocument.Parse(r.Body).RootElement).ToArray();
        var toOpenAI = Assert.Single(sent, b => b.GetProperty("model").GetString() == "m1");
        Assert.Equal(20, toOpenAI.GetProperty("max_completion_tokens").GetInt32());
        Assert.False(toOpenAI.TryGetProperty("max_tokens", out _));
        var toCompatible = sent.Where(b => b.GetProperty("model").GetString() == "m2").ToArray();
        Assert.Equal(2, toCompatible.Length);
        Assert.All(toCompatible, b => Assert.Equal(20, b.GetProperty("max_tokens").GetInt32()));
        Assert.All(toCompatible, b => Assert.False(b.TryGetProperty("max_completion_tokens", out _)));
    }

    [Fact]
    public async Task TimeQueuedForASlot_DoesNotCountAgainstTheFirstByteLimit()
    {
        await using var gateway = await Start("""{ "g": { "timeouts": { "firstByteMs": 3000 }, "deployments": [ { "provider": "a", "model": "m1", "maxConcurrency": 1 } ] } }""");
        var state = gateway.Parts.Deployments.Get("a", "m1");
        // The first holds the only slot for 2 s; the second waits for it, then takes 1.5 s itself:
        // 3.5 s in all, past the 3 s limit, but only 1.5 s of it at the provider.
        var holding = gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", $"{Tag()} fault:slow-headers:2000")));
        Assert.True(await Until(() => state.InFlight == 1), "the first request never took the slot");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var queuedTask = gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("g", $"{Tag()} fault:slow-headers:1500")));
        Assert.True(await Until(() => state.Queued == 1), "the second request never queued");
        using var queued = await queuedTask;
        Assert.Equal(HttpStatusCode.OK, queued.StatusCode);
        Assert.Equal("1", Header(queued, "x-gateway-attempts"));
        Assert.True(clock.Elapsed > TimeSpan.FromMilliseconds(2500), $"answered after {clock.Elapsed}: it did not wait for the slot");
        using var held = await holding;
        Assert.Equal(HttpStatusCode.OK, held.StatusCode);
    }

    [Fact]
    public async Task Messages_AProbePickedForARequestAPolicyRefuses_IsFreeForTheNextRequest()
    {
        string dir = Directory.CreateTempSubdirectory("gw-probe-").FullName;
        try
        {
            string guard = Path.Combine(dir, "guard.js");
            await File.WriteAllTextAsync(guard, "export function onRequest(req) { return JSON.stringify(req).includes('refuse me') ? { reject: { status: 422, message: 'refused' } } : undefined; }");
            // The routing clock is a fake one: the cool-down passes when the test says so, not after a sleep.
            var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
            await using var gateway = await StartAsync(_upstream, time: time, configJson: $$"""
                { "providers": { "a": { "type": "openai-compatible", "baseUrl": "$UPSTREAM", "apiKey": "env:OPENAI_API_KEY" } },
                  "models": { "g": { "breaker": { "failures": 1, "coolDownMs": 300 }, "deployments": [ { "provider": "a", "model": "m1" } ] } },
                  "policies": [ { "file": {{JsonSerializer.Serialize(guard)}}, "limits": { "timeoutMs": 3000 } } ] }
                """);
            static string Message(string text) => $$"""{"model":"g","max_tokens":20,"messages":[{"role":"user","content":"{{text}}"}]}""";
            using (var failed = await gateway.Client.SendAsync(Post("/v1/messages", Message($"{Tag()} fault:500"))))
                Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
            time.Advance(TimeSpan.FromMilliseconds(300)); // the cool-down is over: the next pick is the probe
            using (var refused = await gateway.Client.SendAsync(Post("/v1/messages", Message("refuse me"))))
                Assert.Equal((HttpStatusCode)422, refused.StatusCode);
            // The refused request never sent its probe; this one may.
            using var served = await gateway.Client.SendAsync(Post("/v1/messages", Message("hello")));
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
