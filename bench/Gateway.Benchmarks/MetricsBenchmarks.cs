using BenchmarkDotNet.Attributes;
using Gateway.Core.Routing;
using Gateway.Core.Sse;
using Gateway.Server.Observability;
using Gateway.Server.Pipeline;
using OpenTelemetry.Metrics;

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

/// <summary>The same with an OpenTelemetry meter provider listening (as when OTLP metrics export): the GenAI histograms are recorded too.</summary>
[MemoryDiagnoser]
public class OtlpMetricsBenchmarks
{
    private readonly GatewayMetrics _metrics = new(new DeploymentStates());
    private OpenTelemetry.Metrics.MeterProvider? _provider;
    private RequestRecord _record;

    private sealed class NoExport : OpenTelemetry.BaseExporter<OpenTelemetry.Metrics.Metric>
    {
        public override OpenTelemetry.ExportResult Export(in OpenTelemetry.Batch<OpenTelemetry.Metrics.Metric> batch) => OpenTelemetry.ExportResult.Success;
    }

    [GlobalSetup]
    public void Setup()
    {
        _provider = OpenTelemetry.Sdk.CreateMeterProviderBuilder().AddMeter(GatewayMetrics.MeterName)
            .AddReader(new OpenTelemetry.Metrics.PeriodicExportingMetricReader(new NoExport(), 3_600_000)).Build();
        _record = BenchData.StreamedRecord;
        _metrics.Record(_record);
    }

    [GlobalCleanup]
    public void Cleanup() => _provider?.Dispose();

    [Benchmark]
    public void RecordOneRequest() => _metrics.Record(_record);
}
