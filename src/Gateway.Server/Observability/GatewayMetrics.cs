using System.Collections.Concurrent;
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
internal sealed class GatewayMetrics
{
    public const int MaxSeries = 5000;

    private readonly DeploymentStates states;
    private readonly Func<long>? droppedLogRecords;
    // OpenTelemetry's GenAI histograms, by its attributes: kept only while metrics go out over OTLP.
    private readonly bool _genAi;

    /// <param name="genAi">Also keep the GenAI histograms OTLP carries (<see cref="WriteOtlp"/>).</param>
    /// <param name="cache">The response cache's store, whose size is read when scraped.</param>
    public GatewayMetrics(DeploymentStates states, Func<long>? droppedLogRecords = null, bool genAi = false, Gateway.Core.Caching.IResponseCacheStore? cache = null)
    {
        this.states = states;
        this.droppedLogRecords = droppedLogRecords;
        _genAi = genAi;
        _cacheStore = cache;
    }
    private readonly Gateway.Core.Caching.IResponseCacheStore? _cacheStore;
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
    /// <summary>Requests of cached models by what the cache did, in the order of <see cref="CacheResultNames"/>.</summary>
    private readonly Cell[] _cache = [new(), new(), new(), new()];
    private readonly Cell _semanticHits = new();
    private static readonly string[] CacheResultNames = [Caching.CacheResults.Hit, Caching.CacheResults.Miss, Caching.CacheResults.Bypass, Caching.CacheResults.Refresh];
    private readonly ConcurrentDictionary<(string Operation, string Model, int Status), Histogram> _genAiDuration = new();
    private readonly ConcurrentDictionary<(string Operation, string Model, string Type), Histogram> _genAiTokens = new();
    private readonly ConcurrentDictionary<(string Operation, string Model), Histogram> _genAiFirstToken = new();

    private static readonly string[] StatusText = [.. Enumerable.Range(0, 600).Select(i => i.ToString(CultureInfo.InvariantCulture))];

    public void Record(in RequestRecord record)
    {
        // A model only counts under its own name once a provider was asked for it: names that routed nowhere
        // (a typo, a probe) would each make a series.
        string model = record.Provider is null && record.Cache != Caching.CacheResults.Hit ? "" : record.Model ?? "";
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
        if (record.Cache is { } cache && Array.IndexOf(CacheResultNames, cache) is var result and >= 0) Interlocked.Increment(ref _cache[result].Value);
        if (record.CacheSimilarity is not null) Interlocked.Increment(ref _semanticHits.Value);
        if (_genAi) RecordGenAi(record, model, status);
    }

    private void RecordGenAi(in RequestRecord record, string model, int status)
    {
        string operation = record.Dialect == "embeddings" ? "embeddings" : "chat";
        Bounded(_genAiDuration, (operation, model, status), (operation, Other, status), static _ => new Histogram(Buckets.Duration)).Record(record.Total.TotalSeconds);
        if (record.Usage is { } usage)
        {
            Bounded(_genAiTokens, (operation, model, "input"), (operation, Other, "input"), static _ => new Histogram(Buckets.Tokens)).Record(usage.PromptTokens);
            Bounded(_genAiTokens, (operation, model, "output"), (operation, Other, "output"), static _ => new Histogram(Buckets.Tokens)).Record(usage.CompletionTokens);
        }
        if (record.TimeToFirstToken is { } ttft)
            Bounded(_genAiFirstToken, (operation, model), (operation, Other), static _ => new Histogram(Buckets.FirstToken)).Record(ttft.TotalSeconds);
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

        w.Family("gateway_cache_requests_total", "counter", "Requests of cached models by what the response cache did (hit, miss, bypass: no-store, refresh: no-cache).");
        for (int i = 0; i < CacheResultNames.Length; i++) w.Sample("gateway_cache_requests_total", ["result", CacheResultNames[i]], Volatile.Read(ref _cache[i].Value));
        w.Family("gateway_cache_semantic_hits_total", "counter", "Hits served by the semantic cache (a prompt close enough to a stored one), among the hits above.");
        w.Sample("gateway_cache_semantic_hits_total", [], Volatile.Read(ref _semanticHits.Value));
        if (_cacheStore?.Stats is { } stats)
        {
            w.Family("gateway_cache_entries", "gauge", "Answers held by the response cache.");
            w.Sample("gateway_cache_entries", [], stats.Entries);
            w.Family("gateway_cache_bytes", "gauge", "Bytes of answers held by the response cache (its bound is cache.maxBytes).");
            w.Sample("gateway_cache_bytes", [], stats.Bytes);
            w.Family("gateway_cache_evictions_total", "counter", "Answers the response cache let go to stay within its bound.");
            w.Sample("gateway_cache_evictions_total", [], stats.Evicted);
        }

        w.Family("gateway_log_records_dropped_total", "counter", "Request records the store's writer dropped (its queue was full, or the store failed).");
        w.Sample("gateway_log_records_dropped_total", [], droppedLogRecords?.Invoke() ?? 0);
        if (ScaleOut?.Invoke() is { } scale)
        {
            w.Family("gateway_shared_store_up", "gauge", "1 while Redis answers (limits and budgets counted across replicas); 0 while this replica falls back.");
            w.Sample("gateway_shared_store_up", [], scale.RedisUp ? 1 : 0);
            w.Family("gateway_shared_store_failures_total", "counter", "Calls to Redis that failed or timed out (each one fell back, or left a reservation to expire).");
            w.Sample("gateway_shared_store_failures_total", [], scale.RedisFailures);
            w.Family("gateway_usage_commit_failures_total", "counter", "Requests whose usage could not be committed to the database as they ended (the request log's writer counted it later).");
            w.Sample("gateway_usage_commit_failures_total", [], scale.UsageCommitFailures);
        }
    }

    /// <summary>Replicas on shared stores: how Redis and the usage commits fare (set at start; null on one node).</summary>
    public Func<(bool RedisUp, long RedisFailures, long UsageCommitFailures)>? ScaleOut { get; set; }

    /// <summary>
    /// The same numbers as OTLP metrics (<see cref="Otlp.OtlpMetricWriter"/>), under OpenTelemetry's names: the
    /// counters and gauges of <see cref="WriteTo"/>, the gateway's overhead, and the GenAI histograms by their
    /// conventions' attributes (operation, model asked, status or token type). Cumulative since <paramref name="start"/>.
    /// </summary>
    public void WriteOtlp(ref Otlp.ProtoWriter w, ulong start, ulong now)
    {
        const Otlp.OtlpMetricWriter.Kind Sum = Otlp.OtlpMetricWriter.Kind.Sum, Gauge = Otlp.OtlpMetricWriter.Kind.Gauge, Hist = Otlp.OtlpMetricWriter.Kind.Histogram;
        Otlp.OtlpMetricWriter.Begin(ref w, "gateway.requests", "Requests on model routes, by route, model asked, provider that served and status.", "{request}", Sum, out var m);
        foreach (var (s, cell) in _requests)
            Otlp.OtlpMetricWriter.Point(ref w, ["route", s.Route, "model", s.Model, "provider", s.Provider, "status", StatusText[s.Status]], start, now, Volatile.Read(ref cell.Value));
        Otlp.OtlpMetricWriter.End(ref w, Sum, m);

        Otlp.OtlpMetricWriter.Begin(ref w, "gateway.overhead", "The gateway's own time per request: the whole minus the time spent waiting on providers.", "s", Hist, out m);
        foreach (var (route, h) in _overhead) Otlp.OtlpMetricWriter.Point(ref w, ["route", route], start, now, h);
        Otlp.OtlpMetricWriter.End(ref w, Hist, m);

        Otlp.OtlpMetricWriter.Begin(ref w, "gen_ai.client.operation.duration", "Whole requests, from the first byte in to the last byte out.", "s", Hist, out m);
        foreach (var ((operation, model, status), h) in _genAiDuration)
            Otlp.OtlpMetricWriter.Point(ref w, ["gen_ai.operation.name", operation, "gen_ai.request.model", model], start, now, h, status);
        Otlp.OtlpMetricWriter.End(ref w, Hist, m);

        Otlp.OtlpMetricWriter.Begin(ref w, "gen_ai.client.token.usage", "Tokens per request as the provider reported them.", "{token}", Hist, out m);
        foreach (var ((operation, model, type), h) in _genAiTokens)
            Otlp.OtlpMetricWriter.Point(ref w, ["gen_ai.operation.name", operation, "gen_ai.request.model", model, "gen_ai.token.type", type], start, now, h);
        Otlp.OtlpMetricWriter.End(ref w, Hist, m);

        Otlp.OtlpMetricWriter.Begin(ref w, "gen_ai.server.time_to_first_token", "From a streamed request's arrival to its first event.", "s", Hist, out m);
        foreach (var ((operation, model), h) in _genAiFirstToken)
            Otlp.OtlpMetricWriter.Point(ref w, ["gen_ai.operation.name", operation, "gen_ai.request.model", model], start, now, h);
        Otlp.OtlpMetricWriter.End(ref w, Hist, m);

        Otlp.OtlpMetricWriter.Begin(ref w, "gateway.cost", "What requests cost at the deployment's price, by model and key.", "USD", Sum, out m);
        foreach (var ((model, key), cell) in _costNanos) Otlp.OtlpMetricWriter.Point(ref w, ["model", model, "key", key], start, now, Volatile.Read(ref cell.Value) / 1e9);
        Otlp.OtlpMetricWriter.End(ref w, Sum, m);

        Otlp.OtlpMetricWriter.Begin(ref w, "gateway.upstream.errors", "Requests that ended in a provider's error or timeout.", "{request}", Sum, out m);
        foreach (var ((provider, code), cell) in _upstreamErrors) Otlp.OtlpMetricWriter.Point(ref w, ["provider", provider, "code", code], start, now, Volatile.Read(ref cell.Value));
        Otlp.OtlpMetricWriter.End(ref w, Sum, m);

        Otlp.OtlpMetricWriter.Begin(ref w, "gateway.breaker.open", "1 while a deployment's circuit breaker is open.", "{breaker}", Gauge, out m);
        foreach (var (name, state) in states.All) Otlp.OtlpMetricWriter.Point(ref w, ["deployment", name], 0, now, state.IsOpen ? 1L : 0L);
        Otlp.OtlpMetricWriter.End(ref w, Gauge, m);
        Otlp.OtlpMetricWriter.Begin(ref w, "gateway.queue.depth", "Requests waiting for a deployment's concurrency slot.", "{request}", Gauge, out m);
        foreach (var (name, state) in states.All) Otlp.OtlpMetricWriter.Point(ref w, ["deployment", name], 0, now, (long)state.Queued);
        Otlp.OtlpMetricWriter.End(ref w, Gauge, m);
        Otlp.OtlpMetricWriter.Begin(ref w, "gateway.deployment.in_flight", "Calls in flight to a deployment.", "{request}", Gauge, out m);
        foreach (var (name, state) in states.All) Otlp.OtlpMetricWriter.Point(ref w, ["deployment", name], 0, now, (long)state.InFlight);
        Otlp.OtlpMetricWriter.End(ref w, Gauge, m);

        Otlp.OtlpMetricWriter.Begin(ref w, "gateway.cache.requests", "Answer cache lookups by result.", "{request}", Sum, out m);
        for (int i = 0; i < CacheResultNames.Length; i++) Otlp.OtlpMetricWriter.Point(ref w, ["result", CacheResultNames[i]], start, now, Volatile.Read(ref _cache[i].Value));
        Otlp.OtlpMetricWriter.End(ref w, Sum, m);

        Otlp.OtlpMetricWriter.Begin(ref w, "gateway.log_records.dropped", "Request records the store's writer dropped.", "{record}", Sum, out m);
        Otlp.OtlpMetricWriter.Point(ref w, [], start, now, droppedLogRecords?.Invoke() ?? 0);
        Otlp.OtlpMetricWriter.End(ref w, Sum, m);
    }

    /// <summary>The series <see cref="WriteOtlp"/> writes, to size its buffer.</summary>
    public int SeriesCount => _requests.Count + _overhead.Count + _genAiDuration.Count + _genAiTokens.Count + _genAiFirstToken.Count
        + _costNanos.Count + _upstreamErrors.Count + 3 * states.All.Count() + 3;

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
}
