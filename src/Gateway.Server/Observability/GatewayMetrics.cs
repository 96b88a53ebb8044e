using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using Gateway.Core.Routing;
using Gateway.Server.Pipeline;

namespace Gateway.Server.Observability;

/// <summary>
/// The gateway's Prometheus metrics (DESIGN §9), fed from each request's record and read from live
/// state when scraped. Recording looks up a few series by value (no allocation once a series exists)
/// and adds with interlocked operations. Label values that come from clients (a model name asked of a
/// provider) are bounded: past <see cref="MaxSeries"/> series a family records under <c>other</c>.
/// </summary>
internal sealed class GatewayMetrics : IDisposable
{
    public const int MaxSeries = 5000;

    /// <summary>The same numbers as instruments, for OpenTelemetry's metrics export over OTLP (DESIGN §9).</summary>
    public const string MeterName = "Gateway";

    private readonly DeploymentStates states;
    private readonly Func<long>? droppedLogRecords;
    private readonly Meter _meter;
    // Histograms cannot be observed after the fact: recorded as requests end, only while an exporter listens.
    private readonly Histogram<double> _otelDuration;
    private readonly Histogram<long> _otelTokens;
    private readonly Histogram<double> _otelFirstToken;

    public GatewayMetrics(DeploymentStates states, Func<long>? droppedLogRecords = null)
    {
        this.states = states;
        this.droppedLogRecords = droppedLogRecords;
        _meter = new Meter(MeterName);
        _meter.CreateObservableCounter("gateway.requests", ObserveRequests, "{request}", "Requests on model routes, by route, model asked, provider that served and status.");
        _meter.CreateObservableCounter("gateway.cost", ObserveCost, "USD", "What requests cost at the deployment's price, by model and key.");
        _meter.CreateObservableCounter("gateway.upstream.errors", ObserveUpstreamErrors, "{request}", "Requests that ended in a provider's error or timeout.");
        _meter.CreateObservableGauge("gateway.breaker.open", () => Deployments(s => s.IsOpen ? 1 : 0), "{breaker}", "1 while a deployment's circuit breaker is open.");
        _meter.CreateObservableGauge("gateway.queue.depth", () => Deployments(s => s.Queued), "{request}", "Requests waiting for a deployment's concurrency slot.");
        _meter.CreateObservableCounter("gateway.log_records.dropped", () => droppedLogRecords?.Invoke() ?? 0, "{record}", "Request records the store's writer dropped.");
        _otelDuration = _meter.CreateHistogram<double>("gen_ai.client.operation.duration", "s", "Whole requests, from the first byte in to the last byte out.");
        _otelTokens = _meter.CreateHistogram<long>("gen_ai.client.token.usage", "{token}", "Tokens per request as the provider reported them.");
        _otelFirstToken = _meter.CreateHistogram<double>("gen_ai.server.time_to_first_token", "s", "From a streamed request's arrival to its first event.");
    }
    private const string Other = "other";

    private sealed class Cell
    {
        public long Value;
    }

    private readonly record struct RequestSeries(string Route, string Model, string Provider, int Status);

    private readonly ConcurrentDictionary<RequestSeries, Cell> _requests = new();
    private readonly ConcurrentDictionary<(string Route, string Model), Histogram> _duration = new();
    private readonly ConcurrentDictionary<string, Histogram> _overhead = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Histogram> _firstToken = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Type, string Model), Histogram> _tokens = new();
    private readonly ConcurrentDictionary<(string Model, string Key), Cell> _costNanos = new();
    private readonly ConcurrentDictionary<(string Provider, string Code), Cell> _upstreamErrors = new();
    private readonly Cell _cacheHits = new(), _cacheMisses = new();

    private static readonly string[] StatusText = [.. Enumerable.Range(0, 600).Select(i => i.ToString(CultureInfo.InvariantCulture))];

    public void Record(in RequestRecord record)
    {
        // A model only counts under its own name once a provider was asked for it: names that routed nowhere
        // (a typo, a probe) would each make a series.
        string model = record.Provider is null ? "" : record.Model ?? "";
        string provider = record.Provider ?? "";
        string route = record.Path;
        int status = record.Status is >= 0 and < 600 ? record.Status : 0;

        Interlocked.Increment(ref Bounded(_requests, new RequestSeries(route, model, provider, status), new RequestSeries(route, Other, Other, status), static _ => new Cell()).Value);
        Bounded(_duration, (route, model), (route, Other), static _ => new Histogram(Buckets.Duration)).Record(record.Total.TotalSeconds);
        Bounded(_overhead, route, Other, static _ => new Histogram(Buckets.Overhead)).Record(record.Overhead.TotalSeconds);
        if (record.TimeToFirstToken is { } ttft)
            Bounded(_firstToken, model, Other, static _ => new Histogram(Buckets.FirstToken)).Record(ttft.TotalSeconds);
        if (record.Usage is { } usage)
        {
            Bounded(_tokens, ("input", model), ("input", Other), static _ => new Histogram(Buckets.Tokens)).Record(usage.PromptTokens);
            Bounded(_tokens, ("output", model), ("output", Other), static _ => new Histogram(Buckets.Tokens)).Record(usage.CompletionTokens);
        }
        if (record.CostNanos is { } cost && cost > 0)
            Interlocked.Add(ref Bounded(_costNanos, (model, record.KeyId ?? ""), (Other, Other), static _ => new Cell()).Value, cost);
        if (record.Provider is not null && record.Outcome is RequestOutcome.ProviderError or RequestOutcome.Timeout)
            Interlocked.Increment(ref Bounded(_upstreamErrors, (provider, record.ErrorCode ?? StatusText[status]), (provider, Other), static _ => new Cell()).Value);
        if (_otelDuration.Enabled || _otelTokens.Enabled || _otelFirstToken.Enabled) RecordInstruments(record, model);
    }

    /// <summary>The meter goes with the gateway: its instruments stop being observed.</summary>
    public void Dispose() => _meter.Dispose();

    private void RecordInstruments(in RequestRecord record, string model)
    {
        var operation = new KeyValuePair<string, object?>("gen_ai.operation.name", record.Dialect == "embeddings" ? "embeddings" : "chat");
        var requestModel = new KeyValuePair<string, object?>("gen_ai.request.model", model);
        _otelDuration.Record(record.Total.TotalSeconds, operation, requestModel, new("http.response.status_code", Boxes.Of(record.Status)));
        if (record.Usage is { } usage)
        {
            _otelTokens.Record(usage.PromptTokens, operation, requestModel, new("gen_ai.token.type", "input"));
            _otelTokens.Record(usage.CompletionTokens, operation, requestModel, new("gen_ai.token.type", "output"));
        }
        if (record.TimeToFirstToken is { } ttft) _otelFirstToken.Record(ttft.TotalSeconds, operation, requestModel);
    }

    private IEnumerable<Measurement<long>> ObserveRequests()
    {
        foreach (var (s, cell) in _requests)
            yield return new(Volatile.Read(ref cell.Value), new("route", s.Route), new("model", s.Model), new("provider", s.Provider), new("status", StatusText[s.Status]));
    }

    private IEnumerable<Measurement<double>> ObserveCost()
    {
        foreach (var ((model, key), cell) in _costNanos) yield return new(Volatile.Read(ref cell.Value) / 1e9, new("model", model), new("key", key));
    }

    private IEnumerable<Measurement<long>> ObserveUpstreamErrors()
    {
        foreach (var ((provider, code), cell) in _upstreamErrors) yield return new(Volatile.Read(ref cell.Value), new("provider", provider), new("code", code));
    }

    private IEnumerable<Measurement<int>> Deployments(Func<DeploymentState, int> read)
    {
        foreach (var (name, state) in states.All) yield return new(read(state), new KeyValuePair<string, object?>("deployment", name));
    }

    /// <summary>The series for <paramref name="key"/>, made on first use; <paramref name="overflow"/> once the family is full.</summary>
    private static TValue Bounded<TKey, TValue>(ConcurrentDictionary<TKey, TValue> family, TKey key, TKey overflow, Func<TKey, TValue> make) where TKey : notnull
    {
        if (family.TryGetValue(key, out var existing)) return existing;
        return family.GetOrAdd(family.Count < MaxSeries ? key : overflow, make);
    }

    /// <summary>The whole exposition: every family's HELP and TYPE, then its series.</summary>
    public void WriteTo(PrometheusWriter w)
    {
        w.Family("gateway_requests_total", "counter", "Requests on model routes, by route, model asked, provider that served and status.");
        foreach (var (s, cell) in _requests)
            w.Sample("gateway_requests_total", ["route", s.Route, "model", s.Model, "provider", s.Provider, "status", StatusText[s.Status]], Volatile.Read(ref cell.Value));

        w.Family("gateway_request_duration_seconds", "histogram", "Whole requests, from the first byte in to the last byte out.");
        foreach (var ((route, model), h) in _duration) Histogram(w, "gateway_request_duration_seconds", ["route", route, "model", model], h);

        w.Family("gateway_overhead_seconds", "histogram", "The gateway's own time per request: the whole minus the time spent waiting on providers.");
        foreach (var (route, h) in _overhead) Histogram(w, "gateway_overhead_seconds", ["route", route], h);

        w.Family("gen_ai_server_time_to_first_token_seconds", "histogram", "From a streamed request's arrival to the first event its client got.");
        foreach (var (model, h) in _firstToken) Histogram(w, "gen_ai_server_time_to_first_token_seconds", ["gen_ai_request_model", model], h);

        w.Family("gen_ai_client_token_usage", "histogram", "Tokens per request as the provider reported them, input and output.");
        foreach (var ((type, model), h) in _tokens) Histogram(w, "gen_ai_client_token_usage", ["gen_ai_token_type", type, "gen_ai_request_model", model], h);

        w.Family("gateway_cost_usd_total", "counter", "What requests cost at the deployment's price, by model and key.");
        foreach (var ((model, key), cell) in _costNanos) w.Sample("gateway_cost_usd_total", ["model", model, "key", key], Volatile.Read(ref cell.Value) / 1e9);

        w.Family("gateway_upstream_errors_total", "counter", "Requests that ended in a provider's error or timeout, by provider and error code (or status).");
        foreach (var ((provider, code), cell) in _upstreamErrors) w.Sample("gateway_upstream_errors_total", ["provider", provider, "code", code], Volatile.Read(ref cell.Value));

        var deployments = states.All.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToArray();
        w.Family("gateway_breaker_open", "gauge", "1 while a deployment's circuit breaker is open.");
        foreach (var (name, state) in deployments) w.Sample("gateway_breaker_open", ["deployment", name], state.IsOpen ? 1 : 0);
        w.Family("gateway_queue_depth", "gauge", "Requests waiting for a deployment's concurrency slot.");
        foreach (var (name, state) in deployments) w.Sample("gateway_queue_depth", ["deployment", name], state.Queued);
        w.Family("gateway_deployment_in_flight", "gauge", "Calls in flight to a deployment.");
        foreach (var (name, state) in deployments) w.Sample("gateway_deployment_in_flight", ["deployment", name], state.InFlight);

        w.Family("gateway_cache_requests_total", "counter", "Answer cache lookups by result.");
        w.Sample("gateway_cache_requests_total", ["result", "hit"], Volatile.Read(ref _cacheHits.Value));
        w.Sample("gateway_cache_requests_total", ["result", "miss"], Volatile.Read(ref _cacheMisses.Value));

        w.Family("gateway_log_records_dropped_total", "counter", "Request records the store's writer dropped (its queue was full, or the store failed).");
        w.Sample("gateway_log_records_dropped_total", [], droppedLogRecords?.Invoke() ?? 0);
    }

    private static void Histogram(PrometheusWriter w, string name, ReadOnlySpan<string> labels, Histogram h)
    {
        Span<long> counts = stackalloc long[h.Buckets];
        double sum = h.Read(counts);
        long cumulative = 0;
        for (int i = 0; i < h.Bounds.Length; i++)
        {
            cumulative += counts[i];
            w.Sample(name, labels, cumulative, "_bucket", h.Bounds[i].ToString("R", CultureInfo.InvariantCulture));
        }
        cumulative += counts[^1];
        w.Sample(name, labels, cumulative, "_bucket", "+Inf");
        w.Sample(name, labels, sum, "_sum");
        w.Sample(name, labels, cumulative, "_count");
    }

    /// <summary>Boxed small numbers (statuses), shared so tagging a measurement does not allocate for them.</summary>
    private static class Boxes
    {
        private static readonly object[] Small = Enumerable.Range(0, 1024).Select(i => (object)i).ToArray();

        public static object Of(int value) => (uint)value < (uint)Small.Length ? Small[value] : value;
    }
}
