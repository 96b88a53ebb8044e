using BenchmarkDotNet.Attributes;
using Gateway.Core.Routing;
using Gateway.Core.Sse;
using Gateway.Server.Observability;
using Gateway.Server.Pipeline;

namespace Gateway.Benchmarks;

/// <summary>What recording one request into the Prometheus metrics costs once its series exist (the steady state).</summary>
[MemoryDiagnoser]
public class MetricsBenchmarks
{
    private readonly GatewayMetrics _metrics = new(new DeploymentStates());
    private RequestRecord _record;

    [GlobalSetup]
    public void Setup()
    {
        _record = BenchData.StreamedRecord;
        _metrics.Record(_record);
    }

    [Benchmark]
    public void RecordOneRequest() => _metrics.Record(_record);
}

/// <summary>
/// The same while metrics go out over OTLP: the GenAI histograms are recorded too; and what one export's encoding
/// of every series costs (off the request path, once per export interval).
/// </summary>
[MemoryDiagnoser]
public class OtlpMetricsBenchmarks
{
    private readonly GatewayMetrics _metrics = new(new DeploymentStates(), genAi: true);
    private readonly byte[] _buffer = new byte[1 << 20];
    private RequestRecord _record;

    [GlobalSetup]
    public void Setup()
    {
        _record = BenchData.StreamedRecord;
        _metrics.Record(_record);
    }

    [Benchmark]
    public void RecordOneRequest() => _metrics.Record(_record);

    [Benchmark]
    public int EncodeExport()
    {
        var w = new Gateway.Server.Observability.Otlp.ProtoWriter(_buffer);
        _metrics.WriteOtlp(ref w, 1, 2);
        return w.Length;
    }
}
