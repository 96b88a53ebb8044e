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
        WriteRuntime(w);
    }

    /// <summary>The policy workers, once the first policy started them: calls waiting, workers, workers stuck in a call given up on.</summary>
    public Func<(int Queued, int Workers, int Stuck)?>? PolicyWorkers { get; set; }

    /// <summary>The process, the runtime and the policy workers (<see cref="ProcessMetrics"/>); a figure this platform cannot give is left out.</summary>
    private void WriteRuntime(PrometheusWriter w)
    {
        var r = ProcessMetrics.Read();
        w.Family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
        w.Sample("process_cpu_seconds_total", [], r.CpuUserSeconds + r.CpuSystemSeconds);
        Gauge(w, "process_resident_memory_bytes", "Resident memory size in bytes.", r.ResidentBytes);
        Gauge(w, "process_virtual_memory_bytes", "Virtual memory size in bytes.", r.VirtualBytes);
        if (r.StartTimeSeconds >= 0)
        {
            w.Family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
            w.Sample("process_start_time_seconds", [], r.StartTimeSeconds);
        }
        Gauge(w, "process_open_fds", "Number of open file descriptors.", r.OpenFds);
        Gauge(w, "process_max_fds", "Maximum number of open file descriptors.", r.MaxFds);
        Gauge(w, "process_threads", "Number of OS threads in the process.", r.Threads);

        w.Family("dotnet_gc_collections_total", "counter", "Garbage collections since the process started, by the oldest generation each collected.");
        w.Sample("dotnet_gc_collections_total", ["gc_heap_generation", "gen0"], r.Gen0Collections);
        w.Sample("dotnet_gc_collections_total", ["gc_heap_generation", "gen1"], r.Gen1Collections);
        w.Sample("dotnet_gc_collections_total", ["gc_heap_generation", "gen2"], r.Gen2Collections);
        w.Family("dotnet_gc_heap_total_allocated_bytes_total", "counter", "Bytes allocated on the managed heap since the process started (per request: divide by gateway_requests_total).");
        w.Sample("dotnet_gc_heap_total_allocated_bytes_total", [], r.AllocatedBytes);
        w.Family("dotnet_gc_pause_time_seconds_total", "counter", "Time the garbage collector paused the process.");
        w.Sample("dotnet_gc_pause_time_seconds_total", [], r.PauseSeconds);
        w.Family("dotnet_gc_last_collection_heap_size_bytes", "gauge", "Each generation of the managed heap after the last garbage collection.");
        for (int i = 0; i < r.HeapSizes.Length; i++)
            w.Sample("dotnet_gc_last_collection_heap_size_bytes", ["gc_heap_generation", ProcessMetrics.Generations[i]], r.HeapSizes[i]);
        Gauge(w, "dotnet_thread_pool_thread_count", "Thread pool threads.", r.ThreadPoolThreads);
        Gauge(w, "dotnet_thread_pool_queue_length", "Work items queued to the thread pool, not yet started.", r.ThreadPoolQueue);
        w.Family("dotnet_thread_pool_work_item_count_total", "counter", "Work items the thread pool has run.");
        w.Sample("dotnet_thread_pool_work_item_count_total", [], r.ThreadPoolCompleted);
        w.Family("dotnet_monitor_lock_contentions_total", "counter", "Times a thread waited for a lock another thread held.");
        w.Sample("dotnet_monitor_lock_contentions_total", [], r.LockContentions);

        if (PolicyWorkers?.Invoke() is { } workers)
        {
            Gauge(w, "gateway_policy_calls_queued", "Policy calls waiting for a policy worker (a call waits at most server.policyQueueMs, then its request is refused).", workers.Queued);
            Gauge(w, "gateway_policy_workers", "Policy workers (server.policyWorkers): how many policy calls may run at once.", workers.Workers);
            Gauge(w, "gateway_policy_workers_stuck", "Policy workers still in a call that was given up on at its deadline.", workers.Stuck);
        }
    }

    private static void Gauge(PrometheusWriter w, string name, string help, long value)
    {
        if (value < 0) return;
        w.Family(name, "gauge", help);
        w.Sample(name, [], value);
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

        WriteRuntimeOtlp(ref w, start, now);
    }

    /// <summary>
    /// The process and runtime figures of the Prometheus exposition under OpenTelemetry's names: the process
    /// semantic conventions (<c>process.*</c>) and .NET's runtime metrics (<c>dotnet.*</c>).
    /// </summary>
    private void WriteRuntimeOtlp(ref Otlp.ProtoWriter w, ulong start, ulong now)
    {
        const Otlp.OtlpMetricWriter.Kind Sum = Otlp.OtlpMetricWriter.Kind.Sum, Gauge = Otlp.OtlpMetricWriter.Kind.Gauge;
        var r = ProcessMetrics.Read();
        Otlp.OtlpMetricWriter.Begin(ref w, "process.cpu.time", "Total CPU seconds broken down by different CPU modes.", "s", Sum, out var m);
        Otlp.OtlpMetricWriter.Point(ref w, ["cpu.mode", "user"], start, now, r.CpuUserSeconds);
        Otlp.OtlpMetricWriter.Point(ref w, ["cpu.mode", "system"], start, now, r.CpuSystemSeconds);
        Otlp.OtlpMetricWriter.End(ref w, Sum, m);
        OtlpGauge(ref w, "process.memory.usage", "The amount of physical memory in use.", "By", now, r.ResidentBytes);
        OtlpGauge(ref w, "process.memory.virtual", "The amount of committed virtual memory.", "By", now, r.VirtualBytes);
        OtlpGauge(ref w, "process.thread.count", "Process threads count.", "{thread}", now, r.Threads);
        OtlpGauge(ref w, "process.unix.file_descriptor.count", "Number of unix file descriptors in use by the process.", "{file_descriptor}", now, r.OpenFds);

        Otlp.OtlpMetricWriter.Begin(ref w, "dotnet.gc.collections", "The number of garbage collections that have occurred since the process has started.", "{collection}", Sum, out m);
        Otlp.OtlpMetricWriter.Point(ref w, ["gc.heap.generation", "gen0"], start, now, r.Gen0Collections);
        Otlp.OtlpMetricWriter.Point(ref w, ["gc.heap.generation", "gen1"], start, now, r.Gen1Collections);
        Otlp.OtlpMetricWriter.Point(ref w, ["gc.heap.generation", "gen2"], start, now, r.Gen2Collections);
        Otlp.OtlpMetricWriter.End(ref w, Sum, m);
        OtlpCounter(ref w, "dotnet.gc.heap.total_allocated", "The approximate number of bytes allocated on the managed GC heap since the process has started.", "By", start, now, r.AllocatedBytes);
        OtlpCounter(ref w, "dotnet.gc.pause.time", "The total amount of time paused in GC since the process has started.", "s", start, now, r.PauseSeconds);
        Otlp.OtlpMetricWriter.Begin(ref w, "dotnet.gc.last_collection.heap.size", "The managed GC heap size (including fragmentation), as observed during the latest garbage collection.", "By", Gauge, out m);
        for (int i = 0; i < r.HeapSizes.Length; i++) Otlp.OtlpMetricWriter.Point(ref w, ["gc.heap.generation", ProcessMetrics.Generations[i]], 0, now, r.HeapSizes[i]);
        Otlp.OtlpMetricWriter.End(ref w, Gauge, m);
        OtlpGauge(ref w, "dotnet.thread_pool.thread.count", "The number of thread pool threads that currently exist.", "{thread}", now, r.ThreadPoolThreads);
        OtlpGauge(ref w, "dotnet.thread_pool.queue.length", "The number of work items that are currently queued to be processed by the thread pool.", "{work_item}", now, r.ThreadPoolQueue);
        OtlpCounter(ref w, "dotnet.thread_pool.work_item.count", "The number of work items that the thread pool has completed since the process has started.", "{work_item}", start, now, r.ThreadPoolCompleted);
        OtlpCounter(ref w, "dotnet.monitor.lock_contentions", "The number of times there was contention when trying to acquire a monitor lock since the process has started.", "{contention}", start, now, r.LockContentions);
        if (PolicyWorkers?.Invoke() is { } workers)
        {
            OtlpGauge(ref w, "gateway.policy.calls.queued", "Policy calls waiting for a policy worker.", "{call}", now, workers.Queued);
            OtlpGauge(ref w, "gateway.policy.workers", "Policy workers: how many policy calls may run at once.", "{thread}", now, workers.Workers);
            OtlpGauge(ref w, "gateway.policy.workers.stuck", "Policy workers still in a call that was given up on at its deadline.", "{thread}", now, workers.Stuck);
        }
    }

    private static void OtlpCounter(ref Otlp.ProtoWriter w, string name, string description, string unit, ulong start, ulong now, double value)
    {
        Otlp.OtlpMetricWriter.Begin(ref w, name, description, unit, Otlp.OtlpMetricWriter.Kind.Sum, out var m);
        Otlp.OtlpMetricWriter.Point(ref w, [], start, now, value);
        Otlp.OtlpMetricWriter.End(ref w, Otlp.OtlpMetricWriter.Kind.Sum, m);
    }

    private static void OtlpGauge(ref Otlp.ProtoWriter w, string name, string description, string unit, ulong now, long value)
    {
        if (value < 0) return;
        Otlp.OtlpMetricWriter.Begin(ref w, name, description, unit, Otlp.OtlpMetricWriter.Kind.Gauge, out var m);
        Otlp.OtlpMetricWriter.Point(ref w, [], 0, now, value);
        Otlp.OtlpMetricWriter.End(ref w, Otlp.OtlpMetricWriter.Kind.Gauge, m);
    }

    /// <summary>The series <see cref="WriteOtlp"/> writes, to size its buffer.</summary>
    public int SeriesCount => _requests.Count + _overhead.Count + _genAiDuration.Count + _genAiTokens.Count + _genAiFirstToken.Count
        + _costNanos.Count + _upstreamErrors.Count + 3 * states.All.Count() + 3 + RuntimeSeries;

    /// <summary>The process, runtime and policy-worker points <see cref="WriteRuntimeOtlp"/> writes at most.</summary>
    private const int RuntimeSeries = 24;

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
