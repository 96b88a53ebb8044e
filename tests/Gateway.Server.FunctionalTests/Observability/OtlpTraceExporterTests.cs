using Gateway.Server.FunctionalTests.Infrastructure;
using Gateway.Server.Observability.Otlp;
using Gateway.Server.Observability.Tracing;
using Gateway.Server.Pipeline;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.FunctionalTests.Observability;

/// <summary>The exporter's bounds and failures, and spans whose values are long or not clean text.</summary>
public sealed class OtlpTraceExporterTests
{
    private static OtlpTraceExporter Exporter(OtlpReceiver receiver, ListLogger logger, int batch = 512, int queue = 2048) => new(new OtlpTraceOptions
    {
        Export = new OtlpExportOptions
        {
            Endpoint = new Uri(receiver.Url + "/v1/traces"),
            Resource = [new("service.name", "exporter-test")],
            RetryBackoff = [TimeSpan.FromMilliseconds(10)],
        },
        MaxBatchSpans = batch,
        MaxQueueSpans = queue,
    }, logger);

    private static RequestRecord Record(string requestId, string model) => new()
    {
        RequestId = requestId, Method = "POST", Path = "/v1/chat/completions", Dialect = "chat", Model = model, Status = 200, Attempts = 1,
        Total = TimeSpan.FromMilliseconds(12),
    };

    private static void Span(GatewayTracer tracer, string requestId, string model = "m") =>
        tracer.EndRequest(new RequestTrace(new TraceParent(new UInt128(1, 2), 3, TraceParent.Sampled), 0, null, Recorded: true),
            System.Diagnostics.Stopwatch.GetTimestamp(), Record(requestId, model), null);

    private static GatewayTracer Tracer(OtlpTraceExporter exporter) =>
        new(exporter, TraceSampler.FromEnvironment(new Dictionary<string, string>()), TimeProvider.System, Random.Shared);

    [Fact]
    public async Task WhenExportsFallBehind_NewSpansAreDroppedAndCounted_AFailureIsSaidOnce_AndARecoveryToo()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        receiver.FailWith = 503;
        var logger = new ListLogger();
        using var exporter = Exporter(receiver, logger, batch: 2, queue: 2);
        var tracer = Tracer(exporter);
        for (int i = 0; i < 5; i++) Span(tracer, $"r{i}");
        // Two spans to a batch and one full batch waiting: the fifth span finds no room.
        Assert.Equal(1, exporter.Dropped);
        await exporter.ExportPendingAsync(CancellationToken.None);
        Assert.Equal((0L, 4L), (exporter.Exported, exporter.Failed));
        Assert.Equal(4, receiver.Headers.Count); // two batches, each tried twice (one retry for a 503)
        Assert.Single(logger.Lines, l => l.Contains("failed (HTTP 503)", StringComparison.Ordinal));

        receiver.FailWith = 0;
        Span(tracer, "after");
        await exporter.ExportPendingAsync(CancellationToken.None);
        Assert.Equal(1, exporter.Exported);
        Assert.Equal("after", Assert.Single(receiver.Spans).Attribute("gateway.request_id"));
        Assert.Contains(logger.Lines, l => l.Contains("works again", StringComparison.Ordinal));

        receiver.FailWith = 400; // not retryable: one try
        Span(tracer, "refused");
        int posts = receiver.Headers.Count;
        await exporter.ExportPendingAsync(CancellationToken.None);
        Assert.Equal((posts + 1, 5L), (receiver.Headers.Count, exporter.Failed));
    }

    [Fact]
    public async Task LongAndUncleanValues_AreCutOnACharactersEdge_AndWrittenAsValidUtf8()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var exporter = Exporter(receiver, new ListLogger());
        string model = new string('\u00e9', 600); // two bytes each: past the 512-byte cut
        Span(Tracer(exporter), "id\ud800x", model);
        await exporter.ExportPendingAsync(CancellationToken.None);
        var span = Assert.Single(receiver.Spans);
        Assert.Equal("id\ufffdx", span.Attribute("gateway.request_id"));
        Assert.Equal(new string('\u00e9', 256), span.Attribute("gen_ai.request.model"));
        Assert.StartsWith("chat \u00e9", span.Name, StringComparison.Ordinal);
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(span.Name) <= 512 + 5);
        Assert.Equal("exporter-test", Assert.Single(receiver.Exports).Resource["service.name"]);
    }

    [Theory]
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", true)]
    [InlineData("00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01", false)] // upper case
    [InlineData("00-00000000000000000000000000000000-b7ad6b7169203331-01", false)] // zero trace id
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", false)] // zero span id
    [InlineData("ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", false)] // version ff
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra", false)] // version 00 is exactly 55
    [InlineData("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra", true)] // a later version may say more
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331", false)]
    public void Traceparent_IsParsedAsW3CSaysAndWrittenBackTheSame(string header, bool valid)
    {
        Assert.Equal(valid, TraceParent.TryParse(header, out var parsed));
        if (valid) Assert.Equal("00" + header[2..55], parsed.ToString());
    }

    private sealed class ListLogger : ILogger<OtlpTraceExporter>
    {
        public System.Collections.Concurrent.ConcurrentQueue<string> Lines { get; } = new();
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Enqueue(formatter(state, exception));
    }
}
