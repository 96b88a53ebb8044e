using System.Globalization;
using Gateway.Server.Observability.Otlp;
using Gateway.Server.Observability.Tracing;

namespace Gateway.Server.Observability;

/// <summary>
/// Traces and metrics over OTLP when the standard variables ask for them (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, or the
/// signal's own <c>OTEL_EXPORTER_OTLP_TRACES_ENDPOINT</c> / <c>..._METRICS_ENDPOINT</c>; <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>
/// <c>grpc</c> or <c>http/protobuf</c>; <c>OTEL_EXPORTER_OTLP_HEADERS</c>, <c>..._TIMEOUT</c>; <c>OTEL_SERVICE_NAME</c>,
/// <c>OTEL_RESOURCE_ATTRIBUTES</c>; <c>OTEL_BSP_SCHEDULE_DELAY</c>, <c>..._MAX_EXPORT_BATCH_SIZE</c>, <c>..._MAX_QUEUE_SIZE</c>;
/// <c>OTEL_TRACES_SAMPLER</c>; <c>OTEL_TRACES_EXPORTER</c> / <c>OTEL_METRICS_EXPORTER</c> <c>none</c>; <c>OTEL_SDK_DISABLED</c>).
/// They are read from the gateway's own environment view, so tests and the process see the same thing.
/// Both signals are written and sent by the gateway itself (<see cref="OtlpTraceExporter"/>, <see cref="OtlpMetricsExporter"/>):
/// spans made as SDK activities cost 15% of its throughput, mostly in objects the batch kept alive, and the SDK's
/// metric recording a few percent more, for numbers <c>/metrics</c> already keeps.
/// </summary>
internal static class OpenTelemetrySetup
{
    private const string GrpcTracePath = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    private const string GrpcMetricsPath = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

    /// <summary>What the environment asks to export (either signal null when it asks for none).</summary>
    /// <exception cref="ArgumentException">A setting that cannot be used (a sampler, a number, an endpoint): the start stops with the reason.</exception>
    public static OtlpSettings Read(IReadOnlyDictionary<string, string> env)
    {
        string? Get(string name) => env.GetValueOrDefault(name) is { Length: > 0 } value ? value.Trim() : null;
        if (string.Equals(Get("OTEL_SDK_DISABLED"), "true", StringComparison.OrdinalIgnoreCase)) return OtlpSettings.None;
        string? baseEndpoint = Get("OTEL_EXPORTER_OTLP_ENDPOINT");
        string? Signal(string signal, string setting) => Get($"OTEL_EXPORTER_OTLP_{signal}_{setting}") ?? Get($"OTEL_EXPORTER_OTLP_{setting}");
        // The signal's own endpoint is used as given; the base one gets the signal's path over HTTP (the specification's rule).
        (Uri Url, bool Grpc)? Endpoint(string signal, string path)
        {
            bool grpc = (Signal(signal, "PROTOCOL") ?? "http/protobuf") switch
            {
                "grpc" => true,
                "http/protobuf" => false,
                var other => throw new ArgumentException($"OTEL_EXPORTER_OTLP_PROTOCOL: '{other}' is not grpc or http/protobuf"),
            };
            string? own = Get($"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT");
            if (own is null && baseEndpoint is null) return null;
            string url = own ?? (grpc ? baseEndpoint! : baseEndpoint!.TrimEnd('/') + path);
            return Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" ? (uri, grpc)
                : throw new ArgumentException($"OTEL_EXPORTER_OTLP_{(own is null ? "" : signal + "_")}ENDPOINT: '{url}' is not an http or https URL");
        }
        OtlpMetricsOptions? metricsOptions = null;
        (OtlpTraceOptions, TraceSampler)? traceOptions = null;
        var resourceAttributes = Pairs(Get("OTEL_RESOURCE_ATTRIBUTES"), "OTEL_RESOURCE_ATTRIBUTES");
        string version = typeof(OpenTelemetrySetup).Assembly.GetName().Version?.ToString() ?? "";
        var resource = new List<KeyValuePair<string, string>>
        {
            new("service.name", Get("OTEL_SERVICE_NAME") ?? resourceAttributes.FirstOrDefault(a => a.Key == "service.name").Value ?? "gateway"),
            new("service.version", version),
            new("service.instance.id", Guid.NewGuid().ToString()),
            new("telemetry.sdk.name", "gateway"),
            new("telemetry.sdk.language", "dotnet"),
            new("telemetry.sdk.version", version),
        };
        foreach (var attribute in resourceAttributes)
            if (!resource.Exists(a => a.Key == attribute.Key)) resource.Add(attribute);
        // What both signals share: where (over gRPC, the collector's service method), headers, limit, resource.
        OtlpExportOptions Export(string signal, (Uri Url, bool Grpc) target, string grpcPath) => new()
        {
            Endpoint = target.Grpc ? new Uri(target.Url.AbsoluteUri.TrimEnd('/') + grpcPath) : target.Url,
            Grpc = target.Grpc,
            Headers = Pairs(Signal(signal, "HEADERS"), "OTEL_EXPORTER_OTLP_HEADERS"),
            Timeout = TimeSpan.FromMilliseconds(PositiveInt(Signal(signal, "TIMEOUT"), "OTEL_EXPORTER_OTLP_TIMEOUT") ?? 10_000),
            Resource = resource,
            ScopeVersion = version,
        };

        if (!string.Equals(Get("OTEL_METRICS_EXPORTER"), "none", StringComparison.OrdinalIgnoreCase)
            && Endpoint("METRICS", "/v1/metrics") is { } metrics)
        {
            metricsOptions = new OtlpMetricsOptions
            {
                Export = Export("METRICS", metrics, GrpcMetricsPath),
                Interval = TimeSpan.FromMilliseconds(PositiveInt(Get("OTEL_METRIC_EXPORT_INTERVAL"), "OTEL_METRIC_EXPORT_INTERVAL") ?? 60_000),
            };
        }

        if (!string.Equals(Get("OTEL_TRACES_EXPORTER"), "none", StringComparison.OrdinalIgnoreCase)
            && Endpoint("TRACES", "/v1/traces") is { } traces)
        {
            var options = new OtlpTraceOptions
            {
                Export = Export("TRACES", traces, GrpcTracePath),
                ScheduleDelay = TimeSpan.FromMilliseconds(PositiveInt(Get("OTEL_BSP_SCHEDULE_DELAY"), "OTEL_BSP_SCHEDULE_DELAY") ?? 5_000),
                MaxBatchSpans = PositiveInt(Get("OTEL_BSP_MAX_EXPORT_BATCH_SIZE"), "OTEL_BSP_MAX_EXPORT_BATCH_SIZE") ?? 512,
                MaxQueueSpans = PositiveInt(Get("OTEL_BSP_MAX_QUEUE_SIZE"), "OTEL_BSP_MAX_QUEUE_SIZE") ?? 2048,
            };
            traceOptions = (options, TraceSampler.FromEnvironment(env));
        }
        return new OtlpSettings(metricsOptions, traceOptions?.Item1, traceOptions?.Item2);
    }

    /// <summary>A positive whole number (milliseconds or a count), or null when unset.</summary>
    private static int? PositiveInt(string? value, string name) =>
        value is null ? null
        : int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int parsed) && parsed > 0 ? parsed
        : throw new ArgumentException($"{name}: a positive whole number, not '{value}'");

    /// <summary><c>key=value,key2=value2</c>, percent-decoded (the W3C baggage form the specification uses for headers and resource attributes).</summary>
    private static List<KeyValuePair<string, string>> Pairs(string? value, string setting)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        if (value is null) return pairs;
        foreach (var part in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int equals = part.IndexOf('=');
            if (equals <= 0) throw new ArgumentException($"{setting}: '{part}' is not key=value");
            pairs.Add(new(Uri.UnescapeDataString(part[..equals].Trim()), Uri.UnescapeDataString(part[(equals + 1)..].Trim())));
        }
        return pairs;
    }
}

/// <summary>The OTLP exports the environment asks for: metrics, traces (with their sampler), either, both or none.</summary>
internal sealed record OtlpSettings(OtlpMetricsOptions? Metrics, OtlpTraceOptions? Traces, TraceSampler? Sampler)
{
    public static readonly OtlpSettings None = new(null, null, null);

    public bool Any => Metrics is not null || Traces is not null;
}
