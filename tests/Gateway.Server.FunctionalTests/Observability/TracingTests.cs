using System.Diagnostics;
using Gateway.Server.FunctionalTests.Admin;
using Gateway.Server.FunctionalTests.Infrastructure;
using Gateway.Server.Observability;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Observability;

/// <summary>Spans per request and per attempt with the GenAI attributes, under the client's trace, which also reaches the provider.</summary>
public sealed class TracingTests
{
    private static readonly string TraceId = ActivityTraceId.CreateRandom().ToHexString();
    private static string Traceparent(string traceId) => $"00-{traceId}-{ActivitySpanId.CreateRandom().ToHexString()}-01";

    [Fact]
    public async Task ARequest_IsASpanInTheClientsTrace_WithGenAiAttributes_AndEachAttemptIsItsChild()
    {
        var spans = new List<Activity>();
        await using var upstream = await TestUpstream.StartAsync();
        await using (var gateway = await StartAsync(upstream, services: s => s.AddOpenTelemetry().WithTracing(t => t.AddSource(GatewayTracing.SourceName).AddInMemoryExporter(spans))))
        {
            var request = Post("/v1/chat/completions", Chat("openai/gpt-4o-mini", "traced request"));
            request.Headers.Add("traceparent", Traceparent(TraceId));
            request.Headers.Add("x-request-id", "trace-me-1");
            using var response = await gateway.Client.SendAsync(request);
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        } // stopping flushes the exporter
        // Listeners are process-wide: other tests' gateways may add spans of their own traces meanwhile.
        spans = [.. spans.Where(s => s.TraceId.ToHexString() == TraceId)];
        var server = Assert.Single(spans, s => s.Kind == ActivityKind.Server);
        Assert.Equal(TraceId, server.TraceId.ToHexString());
        Assert.Equal("chat openai/gpt-4o-mini", server.DisplayName);
        Assert.Equal("chat", server.GetTagItem("gen_ai.operation.name"));
        Assert.Equal("openai/gpt-4o-mini", server.GetTagItem("gen_ai.request.model"));
        Assert.Equal("gpt-4o-mini", server.GetTagItem("gen_ai.response.model"));
        Assert.Equal(10, server.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Equal(5, server.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Equal("trace-me-1", server.GetTagItem("gateway.request_id"));
        var attempt = Assert.Single(spans, s => s.Kind == ActivityKind.Client);
        Assert.Equal(server.SpanId, attempt.ParentSpanId);
        Assert.Equal("gpt-4o-mini", attempt.GetTagItem("gen_ai.request.model"));
        Assert.Equal("chat gpt-4o-mini", attempt.DisplayName);
        Assert.Equal(("openai", 200), (server.GetTagItem("gateway.provider"), server.GetTagItem("http.response.status_code")));
        Assert.Null(server.GetTagItem("gateway.attempts")); // one attempt: the usual case is not restated
        Assert.Null(server.GetTagItem("gateway.outcome"));
        Assert.Equal(("127.0.0.1", new Uri(upstream.BaseUrl).Port), (attempt.GetTagItem("server.address"), attempt.GetTagItem("server.port")));
        // The provider got the attempt's span as its parent, in the client's trace.
        string sent = upstream.Matching("traced request").Single().Headers["traceparent"];
        Assert.Equal($"00-{TraceId}-{attempt.SpanId.ToHexString()}-01", sent);
    }

    [Fact]
    public async Task WithoutAnExporter_TheClientsTraceStillReachesTheProvider()
    {
        await using var upstream = await TestUpstream.StartAsync();
        await using var gateway = await StartAsync(upstream);
        string traceId = ActivityTraceId.CreateRandom().ToHexString();
        var request = Post("/v1/chat/completions", Chat("openai/gpt-4o-mini", "untraced gateway"));
        request.Headers.Add("traceparent", Traceparent(traceId));
        using (var response = await gateway.Client.SendAsync(request)) Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Matches($"^00-{traceId}-[0-9a-f]{{16}}-01$", upstream.Matching("untraced gateway").Single().Headers["traceparent"]);
        // No trace from the client: none is invented.
        using (var plain = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-4o-mini", "no trace at all")))) { }
        Assert.False(upstream.Matching("no trace at all").Single().Headers.ContainsKey("traceparent"));
    }

    [Theory]
    [InlineData(null, null, "ParentBased{AlwaysOnSampler}")]
    [InlineData("parentbased_traceidratio", "0.1", "ParentBased{TraceIdRatioBasedSampler{0.100000}}")]
    [InlineData("always_off", null, "AlwaysOffSampler")]
    public void TheSampler_IsTheOneTheStandardVariablesName(string? sampler, string? arg, string expected)
    {
        var env = new Dictionary<string, string>();
        if (sampler is not null) env["OTEL_TRACES_SAMPLER"] = sampler;
        if (arg is not null) env["OTEL_TRACES_SAMPLER_ARG"] = arg;
        Assert.Equal(expected, OpenTelemetrySetup.Sampler(env).Description);
    }

    [Fact]
    public async Task ABadSampler_StopsTheStartWithWhy()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(env: new()
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4318", ["OTEL_TRACES_SAMPLER"] = "sometimes",
        }));
        Assert.Contains("OTEL_TRACES_SAMPLER: 'sometimes'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OtlpIsRegistered_OnlyWhenTheStandardVariablesAskForIt()
    {
        Assert.False(OpenTelemetrySetup.AddIfConfigured(new ServiceCollection(), new Dictionary<string, string>()));
        Assert.False(OpenTelemetrySetup.AddIfConfigured(new ServiceCollection(),
            new Dictionary<string, string> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4318", ["OTEL_SDK_DISABLED"] = "true" }));
        Assert.True(OpenTelemetrySetup.AddIfConfigured(new ServiceCollection(), new Dictionary<string, string> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4318" }));
    }

    [Fact]
    public void SpanNames_AndModelStrings_AreMadeOncePerModel()
    {
        string first = GatewayTracing.SpanNames.Of("spans-once-model", embeddings: false);
        Assert.Equal("chat spans-once-model", first);
        Assert.Same(first, GatewayTracing.SpanNames.Of("spans-once-model", embeddings: false));
        Assert.Equal("embeddings spans-once-model", GatewayTracing.SpanNames.Of("spans-once-model", embeddings: true));
        string model = GatewayTracing.SpanNames.Model("spans-once-model"u8);
        Assert.Equal("spans-once-model", model);
        Assert.Same(model, GatewayTracing.SpanNames.Model("spans-once-model"u8));
        Assert.Equal("never-seen-\u00e9", GatewayTracing.SpanNames.Model("never-seen-\u00e9"u8));
        Assert.Same(GatewayTracing.Boxes.Of(200), GatewayTracing.Boxes.Of(200));
        Assert.Equal(1_000_000, GatewayTracing.Boxes.Of(1_000_000));
        Assert.Equal(-1, GatewayTracing.Boxes.Of(-1));
    }
}
