using BenchmarkDotNet.Attributes;
using Gateway.Core.Config;
using Gateway.Core.Providers;
using Gateway.Server.Observability.Tracing;
using Gateway.Server.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Benchmarks;

/// <summary>
/// What tracing costs a sampled request: its trace started, one attempt's span (its traceparent written) and the
/// request's span, both encoded into the exporter's batch; every 256 requests the batch is framed and handed to an
/// HTTP handler that answers at once (no network), so the exporter's own work is in the figure, amortized.
/// </summary>
[MemoryDiagnoser]
public class TracingBenchmarks
{
    private const int Requests = 256;

    private sealed class BenchProvider : IProvider
    {
        public string Name => "openai";
        public ProviderConfig Config { get; } = new() { Name = "openai", Type = "openai", BaseUrl = "http://127.0.0.1:18081/v1" };
        public ValueTask<UpstreamResult> SendAsync(ProviderCall call, CancellationToken cancellationToken) => throw new NotSupportedException();
        public ValueTask<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    private sealed class Accepting : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = new ByteArrayContent([]) });
    }

    private readonly DefaultHttpContext _context = new();
    private readonly IProvider _provider = new BenchProvider();
    private RequestRecord _record;
    private OtlpTraceExporter _exporter = null!;
    private GatewayTracer _tracer = null!;

    [GlobalSetup]
    public void Setup()
    {
        _record = BenchData.StreamedRecord;
        _exporter = new OtlpTraceExporter(new OtlpTraceOptions
        {
            Export = new Gateway.Server.Observability.Otlp.OtlpExportOptions
            {
                Endpoint = new Uri("http://127.0.0.1:4318/v1/traces"),
                Resource = [new("service.name", "gateway")],
            },
        }, NullLogger<OtlpTraceExporter>.Instance, new Accepting());
        _tracer = new GatewayTracer(_exporter, TraceSampler.FromEnvironment(new Dictionary<string, string>()), TimeProvider.System, Random.Shared);
    }

    [GlobalCleanup]
    public void Cleanup() => _exporter.Dispose();

    [Benchmark(OperationsPerInvoke = Requests)]
    public void SampledRequest()
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        for (int i = 0; i < Requests; i++)
        {
            var trace = _tracer.StartRequest(_context);
            var attempt = _tracer.StartAttempt(trace, out _);
            _tracer.EndAttempt(trace, attempt, _provider, "gpt-4o-mini"u8, ProviderOperation.ChatCompletions, default);
            _tracer.EndRequest(trace, started, _record, "openai");
        }
        _exporter.ExportPendingAsync(CancellationToken.None).GetAwaiter().GetResult();
    }
}
