using Gateway.Server.FunctionalTests.Admin;
using Gateway.Server.FunctionalTests.Infrastructure;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Observability;

/// <summary>The metrics over OTLP: the same counts as <c>/metrics</c>, and the GenAI histograms by their conventions' attributes.</summary>
public sealed class OtlpMetricsTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheSameCounts_AndTheGenAiHistograms_ReachTheCollector(bool grpc)
    {
        await using var receiver = await OtlpReceiver.StartAsync(grpc);
        await using var upstream = await TestUpstream.StartAsync();
        await using (var gateway = await StartAsync(upstream, env: new()
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Url, ["OTEL_EXPORTER_OTLP_PROTOCOL"] = grpc ? "grpc" : "http/protobuf",
            ["OTEL_TRACES_EXPORTER"] = "none", ["OTEL_METRIC_EXPORT_INTERVAL"] = "3600000",
        }))
        {
            for (int i = 0; i < 2; i++) Assert.Equal(200, (await gateway.ChatAsync(MasterKey, "openai/gpt-4o-mini", $"otlp metrics {i}")).Status);
        } // stopping exports once more
        var metrics = Assert.Single(receiver.MetricExports).ToDictionary(m => m.Name);
        Assert.Empty(receiver.Exports); // OTEL_TRACES_EXPORTER=none

        var requests = metrics["gateway.requests"];
        Assert.Equal(("sum", 2, true), (requests.Kind, requests.Temporality, requests.Monotonic));
        var answered = Assert.Single(requests.Points, p => (string)p.Attributes["model"] == "openai/gpt-4o-mini");
        Assert.Equal((2.0, "200", "/v1/chat/completions"), (answered.Value, answered.Attributes["status"], answered.Attributes["route"]));
        Assert.True(answered.Start > 0 && answered.Start <= answered.Time);

        var duration = metrics["gen_ai.client.operation.duration"];
        Assert.Equal(("histogram", "s", 2), (duration.Kind, duration.Unit, duration.Temporality));
        var point = Assert.Single(duration.Points);
        Assert.Equal(("chat", "openai/gpt-4o-mini", 200L), (point.Attributes["gen_ai.operation.name"], point.Attributes["gen_ai.request.model"], point.Attributes["http.response.status_code"]));
        Assert.Equal(2UL, point.Count);
        Assert.True(point.Sum > 0);

        var tokens = metrics["gen_ai.client.token.usage"];
        var input = Assert.Single(tokens.Points, p => (string)p.Attributes["gen_ai.token.type"] == "input");
        Assert.Equal((2UL, 20.0), (input.Count, input.Sum)); // 10 tokens per answer
        Assert.Contains("gateway.overhead", metrics.Keys);
        Assert.Equal("gauge", metrics["gateway.queue.depth"].Kind);
        Assert.Equal(0.0, Assert.Single(metrics["gateway.log_records.dropped"].Points).Value);

        // The process and the runtime, under OpenTelemetry's names.
        var cpu = metrics["process.cpu.time"];
        Assert.Equal(("sum", "s", true), (cpu.Kind, cpu.Unit, cpu.Monotonic));
        Assert.Equal(["system", "user"], cpu.Points.Select(p => (string)p.Attributes["cpu.mode"]).Order());
        Assert.True(cpu.Points.Sum(p => p.Value) > 0);
        Assert.True(Assert.Single(metrics["process.memory.usage"].Points).Value > 1 << 20);
        Assert.Equal(["gen0", "gen1", "gen2"], metrics["dotnet.gc.collections"].Points.Select(p => (string)p.Attributes["gc.heap.generation"]));
        Assert.True(Assert.Single(metrics["dotnet.gc.heap.total_allocated"].Points).Value > 0);
        Assert.Equal(5, metrics["dotnet.gc.last_collection.heap.size"].Points.Count);
        Assert.Equal("gauge", metrics["dotnet.thread_pool.thread.count"].Kind);
    }

    [Fact]
    public async Task WithoutOtlpMetrics_NoGenAiHistogramIsKept()
    {
        await using var upstream = await TestUpstream.StartAsync();
        await using var gateway = await StartAsync(upstream);
        Assert.Equal(200, (await gateway.ChatAsync(MasterKey, "openai/gpt-4o-mini", "no otlp")).Status);
        var metrics = gateway.Parts.Metrics;
        // The request's record reaches the metrics as the request ends, which may be just after the client has its answer.
        Dictionary<string, OtlpMetric> written = [];
        for (int i = 0; i < 50; i++)
        {
            var buffer = new byte[1 << 16];
            var w = new Gateway.Server.Observability.Otlp.ProtoWriter(buffer);
            metrics!.WriteOtlp(ref w, 1, 2);
            written = OtlpDecoder.DecodeMetrics(Envelope(buffer[..w.Length])).ToDictionary(m => m.Name);
            if (written["gateway.requests"].Points.Count > 0) break;
            await Task.Delay(50);
        }
        Assert.Empty(written["gen_ai.client.operation.duration"].Points);
        Assert.NotEmpty(written["gateway.requests"].Points);
    }

    /// <summary>Metrics fields wrapped as an export request (resource_metrics 1 { scope_metrics 2 { metrics... } }).</summary>
    private static byte[] Envelope(byte[] metrics)
    {
        static byte[] Field(int number, byte[] content)
        {
            var bytes = new List<byte> { (byte)((number << 3) | 2) };
            uint length = (uint)content.Length;
            while (length >= 0x80) { bytes.Add((byte)(length | 0x80)); length >>= 7; }
            bytes.Add((byte)length);
            bytes.AddRange(content);
            return [.. bytes];
        }
        return Field(1, Field(2, metrics));
    }
}
