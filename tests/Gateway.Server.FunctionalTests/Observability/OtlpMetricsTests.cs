using Gateway.Server.FunctionalTests.Admin;
using Gateway.Server.FunctionalTests.Infrastructure;
using Gateway.Server.Observability;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Observability;

/// <summary>The metrics as OpenTelemetry instruments: what an OTLP metrics exporter gets.</summary>
public sealed class OtlpMetricsTests
{
    [Fact]
    public async Task TheSameCounts_AndTheGenAiHistograms_ReachAMetricsExporter()
    {
        var exported = new List<MetricSnapshot>();
        await using var upstream = await TestUpstream.StartAsync();
        await using (var gateway = await StartAsync(upstream, services: s => s.AddOpenTelemetry().WithMetrics(m => m.AddMeter(GatewayMetrics.MeterName).AddInMemoryExporter(exported))))
        {
            for (int i = 0; i < 2; i++) Assert.Equal(200, (await gateway.ChatAsync(MasterKey, "openai/gpt-4o-mini", $"otlp metrics {i}")).Status);
        } // stopping collects and exports once more
        var names = exported.Select(m => m.Name).ToHashSet();
        Assert.Contains("gateway.requests", names);
        Assert.Contains("gen_ai.client.token.usage", names);
        Assert.Contains("gen_ai.client.operation.duration", names);
        var requests = exported.Last(m => m.Name == "gateway.requests");
        long count = 0;
        foreach (var point in requests.MetricPoints)
            foreach (var tag in point.Tags)
                if (tag.Key == "model" && (string?)tag.Value == "openai/gpt-4o-mini") count += point.GetSumLong();
        // At least ours: an exporter listens to every meter of that name in the process, and other tests' gateways run alongside.
        Assert.True(count >= 2, $"requests {count}");
        var tokens = exported.Last(m => m.Name == "gen_ai.client.token.usage");
        double input = 0;
        foreach (var point in tokens.MetricPoints)
            foreach (var tag in point.Tags)
                if (tag.Key == "gen_ai.token.type" && (string?)tag.Value == "input") input += point.GetHistogramSum();
        Assert.True(input >= 20, $"input tokens {input}"); // 10 per answer (other tests' gateways may add to a process-wide meter)
    }
}
