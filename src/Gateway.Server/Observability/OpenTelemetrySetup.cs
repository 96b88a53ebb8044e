using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Gateway.Server.Observability;

/// <summary>
/// Traces over OTLP when the standard variables ask for them (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c> or
/// <c>OTEL_EXPORTER_OTLP_TRACES_ENDPOINT</c>; <c>OTEL_EXPORTER_OTLP_PROTOCOL</c> <c>grpc</c> or
/// <c>http/protobuf</c>; <c>OTEL_EXPORTER_OTLP_HEADERS</c>; <c>OTEL_SERVICE_NAME</c>;
/// <c>OTEL_BSP_SCHEDULE_DELAY</c>; <c>OTEL_SDK_DISABLED</c>). They are read from the gateway's own
/// environment view, so tests and the process see the same thing. Without them nothing is registered.
/// </summary>
internal static class OpenTelemetrySetup
{
    public static bool AddIfConfigured(IServiceCollection services, IReadOnlyDictionary<string, string> env)
    {
        string? traces = env.GetValueOrDefault("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
        string? baseEndpoint = env.GetValueOrDefault("OTEL_EXPORTER_OTLP_ENDPOINT");
        if (string.Equals(env.GetValueOrDefault("OTEL_SDK_DISABLED"), "true", StringComparison.OrdinalIgnoreCase)) return false;
        if (string.IsNullOrEmpty(traces) && string.IsNullOrEmpty(baseEndpoint)) return false;
        string protocolName = env.GetValueOrDefault("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") ?? env.GetValueOrDefault("OTEL_EXPORTER_OTLP_PROTOCOL") ?? "http/protobuf";
        var protocol = protocolName.Equals("grpc", StringComparison.OrdinalIgnoreCase) ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
        // The signal's own endpoint is used as given; the base one gets the signal's path over HTTP (the spec's rule).
        Uri? Endpoint(string? own, string path) =>
            !string.IsNullOrEmpty(own) ? new Uri(own)
            : string.IsNullOrEmpty(baseEndpoint) ? null
            : protocol == OtlpExportProtocol.HttpProtobuf ? new Uri(baseEndpoint.TrimEnd('/') + path) : new Uri(baseEndpoint);
        string? headers = env.GetValueOrDefault("OTEL_EXPORTER_OTLP_HEADERS") is { Length: > 0 } h ? h : null;
        var endpoint = Endpoint(traces, "/v1/traces")!;
        var sampler = Sampler(env);
        string service = env.GetValueOrDefault("OTEL_SERVICE_NAME") is { Length: > 0 } name ? name : "gateway";
        var builder = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(service, serviceVersion: typeof(OpenTelemetrySetup).Assembly.GetName().Version?.ToString()));
        // The metrics go out too unless OTEL_METRICS_EXPORTER says none (the same numbers as /metrics, as instruments).
        if (!string.Equals(env.GetValueOrDefault("OTEL_METRICS_EXPORTER"), "none", StringComparison.OrdinalIgnoreCase))
        {
            var metricsEndpoint = Endpoint(env.GetValueOrDefault("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"), "/v1/metrics");
            if (metricsEndpoint is not null)
                builder.WithMetrics(metrics => metrics
                    .AddMeter(GatewayMetrics.MeterName)
                    .AddOtlpExporter((otlp, reader) =>
                    {
                        otlp.Endpoint = metricsEndpoint;
                        otlp.Protocol = protocol;
                        if (headers is not null) otlp.Headers = headers;
                        if (int.TryParse(env.GetValueOrDefault("OTEL_METRIC_EXPORT_INTERVAL"), NumberStyles.None, CultureInfo.InvariantCulture, out int interval) && interval > 0)
                            reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = interval;
                    }));
        }
        builder
            .WithTracing(tracing => tracing
                .SetSampler(sampler)
                .AddSource(GatewayTracing.SourceName)
                .AddOtlpExporter(otlp =>
                {
                    otlp.Endpoint = endpoint;
                    otlp.Protocol = protocol;
                    if (headers is not null) otlp.Headers = headers;
                    if (int.TryParse(env.GetValueOrDefault("OTEL_BSP_SCHEDULE_DELAY"), NumberStyles.None, CultureInfo.InvariantCulture, out int delay) && delay > 0)
                        otlp.BatchExportProcessorOptions.ScheduledDelayMilliseconds = delay;
                }));
        return true;
    }

    /// <summary>
    /// <c>OTEL_TRACES_SAMPLER</c> and <c>OTEL_TRACES_SAMPLER_ARG</c> as the specification names them; the default is
    /// <c>parentbased_always_on</c>. A ratio samples by trace id, so a trace is kept or dropped whole.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown sampler or a ratio outside 0..1: the start stops with the reason.</exception>
    public static Sampler Sampler(IReadOnlyDictionary<string, string> env)
    {
        string name = env.GetValueOrDefault("OTEL_TRACES_SAMPLER") is { Length: > 0 } configured ? configured.Trim().ToLowerInvariant() : "parentbased_always_on";
        double ratio = 1;
        if (env.GetValueOrDefault("OTEL_TRACES_SAMPLER_ARG") is { Length: > 0 } arg
            && !(double.TryParse(arg, NumberStyles.Float, CultureInfo.InvariantCulture, out ratio) && ratio is >= 0 and <= 1))
            throw new ArgumentException($"OTEL_TRACES_SAMPLER_ARG: a ratio from 0 to 1, not '{arg}'");
        return name switch
        {
            "always_on" => new AlwaysOnSampler(),
            "always_off" => new AlwaysOffSampler(),
            "traceidratio" => new TraceIdRatioBasedSampler(ratio),
            "parentbased_always_on" => new ParentBasedSampler(new AlwaysOnSampler()),
            "parentbased_always_off" => new ParentBasedSampler(new AlwaysOffSampler()),
            "parentbased_traceidratio" => new ParentBasedSampler(new TraceIdRatioBasedSampler(ratio)),
            _ => throw new ArgumentException($"OTEL_TRACES_SAMPLER: '{name}' is not one of always_on, always_off, traceidratio, parentbased_always_on, "
                + "parentbased_always_off, parentbased_traceidratio"),
        };
    }
}
