using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Gateway.Core.Sse;
using Gateway.Server.Observability;
using Gateway.Server.Pipeline;
using Microsoft.AspNetCore.Http;

namespace Gateway.Benchmarks;

/// <summary>What a request's span costs the request: made, tagged from the record and ended, with a listener that records everything (no exporter).</summary>
[MemoryDiagnoser]
public class TracingBenchmarks
{
    private ActivityListener? _listener;
    private RequestRecord _record;
    private readonly DefaultHttpContext _context = new();

    [GlobalSetup]
    public void Setup()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == GatewayTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(_listener);
        _record = BenchData.StreamedRecord;
    }

    [GlobalCleanup]
    public void Cleanup() => _listener?.Dispose();

    [Benchmark]
    public void RequestSpan()
    {
        var activity = GatewayTracing.StartRequest(_context)!;
        GatewayTracing.EndRequest(activity, _record, "openai-compatible");
    }
}
