using Gateway.Server.FunctionalTests.Infrastructure;
using Gateway.Server.Observability;
using Gateway.Server.Observability.Tracing;
using Microsoft.Extensions.DependencyInjection;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Observability;

/// <summary>Spans per request and per attempt with the GenAI attributes, exported over OTLP, under the client's trace, which also reaches the provider.</summary>
public sealed class TracingTests
{
    private static string Hex(int bytes) => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(bytes));

    private static Dictionary<string, string> Otlp(OtlpReceiver receiver, bool grpc = false, Dictionary<string, string>? more = null)
    {
        var env = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Url,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = grpc ? "grpc" : "http/protobuf",
            ["OTEL_METRICS_EXPORTER"] = "none",
        };
        foreach (var (k, v) in more ?? []) env[k] = v;
        return env;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ARequest_IsASpanInTheClientsTrace_WithGenAiAttributes_AndEachAttemptIsItsChild(bool grpc)
    {
        await using var receiver = await OtlpReceiver.StartAsync(grpc);
        await using var upstream = await TestUpstream.StartAsync();
        string traceId = Hex(16), clientSpan = Hex(8);
        await using (var gateway = await StartAsync(upstream, env: Otlp(receiver, grpc, new()
        {
            ["OTEL_SERVICE_NAME"] = "gw-under-test", ["OTEL_RESOURCE_ATTRIBUTES"] = "deployment.environment=test,service.name=ignored",
            ["OTEL_EXPORTER_OTLP_HEADERS"] = "x-collector-token=s%20ecret",
        })))
        {
            var request = Post("/v1/chat/completions", Chat("openai/gpt-4o-mini", "traced request"));
            request.Headers.Add("traceparent", $"00-{traceId}-{clientSpan}-01");
            request.Headers.Add("tracestate", "vendor=1");
            request.Headers.Add("x-request-id", "trace-me-1");
            using var response = await gateway.Client.SendAsync(request);
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        } // stopping exports what is left

        var export = Assert.Single(receiver.Exports);
        Assert.Equal("gw-under-test", export.Resource["service.name"]);
        Assert.Equal("test", export.Resource["deployment.environment"]);
        Assert.Equal("Gateway", export.ScopeName);
        Assert.Equal("s ecret", Assert.Single(receiver.Headers)["x-collector-token"]);
        var server = Assert.Single(export.Spans, s => s.Kind == 2);
        Assert.Equal((traceId, clientSpan, "vendor=1"), (server.TraceId, server.ParentSpanId, server.TraceState));
        Assert.Equal("chat openai/gpt-4o-mini", server.Name);
        Assert.Equal(0x301u, server.Flags); // sampled, its parent known to be remote
        Assert.Equal("chat", server.Attribute("gen_ai.operation.name"));
        Assert.Equal("openai", server.Attribute("gen_ai.provider.name"));
        Assert.Equal("openai/gpt-4o-mini", server.Attribute("gen_ai.request.model"));
        Assert.Equal("gpt-4o-mini", server.Attribute("gen_ai.response.model"));
        Assert.Equal(10L, server.Attribute("gen_ai.usage.input_tokens"));
        Assert.Equal(5L, server.Attribute("gen_ai.usage.output_tokens"));
        Assert.Equal("trace-me-1", server.Attribute("gateway.request_id"));
        Assert.Equal(("openai", 200L), (server.Attribute("gateway.provider"), server.Attribute("http.response.status_code")));
        Assert.Null(server.Attribute("gateway.attempts")); // one attempt: the usual case is not restated
        Assert.Null(server.Attribute("gateway.outcome"));
        Assert.Equal(0, server.StatusCode);
        // Wall-clock nanoseconds, now-ish.
        var now = (ulong)(DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;
        Assert.InRange(server.Start, now - 60_000_000_000UL, now);

        var attempt = Assert.Single(export.Spans, s => s.Kind == 3);
        Assert.Equal((traceId, server.SpanId, "vendor=1"), (attempt.TraceId, attempt.ParentSpanId, attempt.TraceState));
        Assert.Equal("chat gpt-4o-mini", attempt.Name);
        Assert.Equal(0x101u, attempt.Flags);
        Assert.Equal("gpt-4o-mini", attempt.Attribute("gen_ai.request.model"));
        Assert.Equal(200L, attempt.Attribute("http.response.status_code"));
        Assert.Equal(("127.0.0.1", (long)new Uri(upstream.BaseUrl).Port), (attempt.Attribute("server.address"), attempt.Attribute("server.port")));
        Assert.InRange(attempt.Start, server.Start, server.End);
        Assert.InRange(attempt.End, attempt.Start, server.End);
        // The provider got the attempt's span as its parent, in the client's trace, with the client's tracestate.
        var sent = upstream.Matching("traced request").Single().Headers;
        Assert.Equal($"00-{traceId}-{attempt.SpanId}-01", sent["traceparent"]);
        Assert.Equal("vendor=1", sent["tracestate"]);
    }

    [Fact]
    public async Task ARequestWithoutATrace_StartsOne_AndAFailedAttemptIsAnErrorSpan()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var upstream = await TestUpstream.StartAsync();
        int failedStatus;
        await using (var gateway = await StartAsync(upstream, env: Otlp(receiver)))
        {
            using var ok = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-4o-mini", "new trace")));
            Assert.Equal(System.Net.HttpStatusCode.OK, ok.StatusCode);
            using var failed = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-4o-mini", "fault:500")));
            failedStatus = (int)failed.StatusCode;
            Assert.True(failedStatus >= 500);
        }
        var spans = receiver.Spans.ToList();
        string traceparent = upstream.Matching("new trace").Single().Headers["traceparent"];
        var root = Assert.Single(spans, s => s.Kind == 2 && traceparent.Contains(s.TraceId, StringComparison.Ordinal));
        Assert.Null(root.ParentSpanId);
        Assert.Equal(0x101u, root.Flags);
        var failedServer = Assert.Single(spans, s => s.Kind == 2 && s != root);
        Assert.Equal(2, failedServer.StatusCode);
        Assert.Equal((long)failedStatus, failedServer.Attribute("http.response.status_code"));
        Assert.Equal("ProviderError", failedServer.Attribute("gateway.outcome"));
        Assert.All(spans.Where(s => s.Kind == 3 && s.ParentSpanId == failedServer.SpanId),
            attempt => Assert.Equal(2, attempt.StatusCode));
        Assert.All(spans.Where(s => s.Kind == 3 && s.ParentSpanId == failedServer.SpanId), attempt => Assert.NotNull(attempt.Attribute("error.type")));
        Assert.Contains(spans, s => s.Kind == 3 && s.ParentSpanId == failedServer.SpanId);
    }

    [Fact]
    public async Task WithoutAnExporter_TheClientsTraceStillReachesTheProvider()
    {
        await using var upstream = await TestUpstream.StartAsync();
        await using var gateway = await StartAsync(upstream);
        string traceId = Hex(16);
        var request = Post("/v1/chat/completions", Chat("openai/gpt-4o-mini", "untraced gateway"));
        request.Headers.Add("traceparent", $"00-{traceId}-{Hex(8)}-01");
        using (var response = await gateway.Client.SendAsync(request)) Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Matches($"^00-{traceId}-[0-9a-f]{{16}}-01$", upstream.Matching("untraced gateway").Single().Headers["traceparent"]);
        // No trace from the client, or one that is not valid: none is invented, and nothing bad is passed on.
        using (var plain = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-4o-mini", "no trace at all")))) { }
        Assert.False(upstream.Matching("no trace at all").Single().Headers.ContainsKey("traceparent"));
        var bad = Post("/v1/chat/completions", Chat("openai/gpt-4o-mini", "bad trace"));
        bad.Headers.TryAddWithoutValidation("traceparent", $"00-{traceId.ToUpperInvariant()}-{Hex(8)}-01");
        using (var response = await gateway.Client.SendAsync(bad)) Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.False(upstream.Matching("bad trace").Single().Headers.ContainsKey("traceparent"));
    }

    [Fact]
    public async Task AnUnsampledClientTrace_IsPassedOnUnsampled_AndNotExported()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var upstream = await TestUpstream.StartAsync();
        string traceId = Hex(16);
        await using (var gateway = await StartAsync(upstream, env: Otlp(receiver)))
        {
            var request = Post("/v1/chat/completions", Chat("openai/gpt-4o-mini", "unsampled trace"));
            request.Headers.Add("traceparent", $"00-{traceId}-{Hex(8)}-00");
            using var response = await gateway.Client.SendAsync(request);
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        }
        Assert.Matches($"^00-{traceId}-[0-9a-f]{{16}}-00$", upstream.Matching("unsampled trace").Single().Headers["traceparent"]);
        Assert.DoesNotContain(receiver.Spans, s => s.TraceId == traceId);
    }

    [Theory]
    [InlineData(null, null, "parentbased_always_on")]
    [InlineData("parentbased_traceidratio", "0.1", "parentbased_traceidratio 0.1")]
    [InlineData("always_off", null, "always_off")]
    public void TheSampler_IsTheOneTheStandardVariablesName(string? sampler, string? arg, string expected)
    {
        var env = new Dictionary<string, string>();
        if (sampler is not null) env["OTEL_TRACES_SAMPLER"] = sampler;
        if (arg is not null) env["OTEL_TRACES_SAMPLER_ARG"] = arg;
        Assert.Equal(expected, TraceSampler.FromEnvironment(env).Description);
    }

    [Fact]
    public void ARatio_KeepsAboutThatShareOfTraces_AndAParentsChoiceWins()
    {
        var sampler = TraceSampler.FromEnvironment(new Dictionary<string, string> { ["OTEL_TRACES_SAMPLER"] = "parentbased_traceidratio", ["OTEL_TRACES_SAMPLER_ARG"] = "0.25" });
        var random = new Random(7);
        int kept = Enumerable.Range(0, 20_000).Count(_ => sampler.ShouldSample(null, new UInt128((ulong)random.NextInt64(), (ulong)random.NextInt64())));
        Assert.InRange(kept, 4_500, 5_500);
        var id = new UInt128(ulong.MaxValue, 1); // a head the ratio would drop
        Assert.True(sampler.ShouldSample(new TraceParent(id, 1, TraceParent.Sampled), id));
        Assert.False(TraceSampler.FromEnvironment(new Dictionary<string, string>()).ShouldSample(new TraceParent(id, 1, 0), id));
    }

    [Theory]
    [InlineData("OTEL_TRACES_SAMPLER", "sometimes", "OTEL_TRACES_SAMPLER: 'sometimes'")]
    [InlineData("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", "OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json'")]
    [InlineData("OTEL_BSP_MAX_QUEUE_SIZE", "-5", "OTEL_BSP_MAX_QUEUE_SIZE: a positive whole number, not '-5'")]
    [InlineData("OTEL_EXPORTER_OTLP_HEADERS", "novalue", "OTEL_EXPORTER_OTLP_HEADERS: 'novalue' is not key=value")]
    public async Task ABadSetting_StopsTheStartWithWhy(string name, string value, string expected)
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(env: new()
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4318", [name] = value,
        }));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OtlpIsRegistered_OnlyWhenTheStandardVariablesAskForIt()
    {
        bool Registered(Dictionary<string, string> env) => OpenTelemetrySetup.Read(env).Any;
        Assert.False(Registered([]));
        Assert.False(Registered(new() { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4318", ["OTEL_SDK_DISABLED"] = "true" }));
        Assert.False(Registered(new() { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4318", ["OTEL_TRACES_EXPORTER"] = "none", ["OTEL_METRICS_EXPORTER"] = "none" }));
        Assert.True(Registered(new() { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4318" }));
        Assert.True(Registered(new() { ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = "http://127.0.0.1:4318/v1/traces" }));
    }
}
