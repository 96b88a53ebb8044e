using System.Buffers;
using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Observability.Tracing;

/// <summary>Where and how spans go: the standard <c>OTEL_*</c> settings, read once at start.</summary>
internal sealed record OtlpTraceOptions
{
    public required Uri Endpoint { get; init; }
    /// <summary>OTLP over gRPC (HTTP/2, the collector's <c>TraceService/Export</c>) instead of HTTP/protobuf.</summary>
    public bool Grpc { get; init; }
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];
    /// <summary>One export's limit (<c>OTEL_EXPORTER_OTLP_TIMEOUT</c>, 10 s).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>The longest a span waits for its batch to go (<c>OTEL_BSP_SCHEDULE_DELAY</c>, 5 s).</summary>
    public TimeSpan ScheduleDelay { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Spans per export (<c>OTEL_BSP_MAX_EXPORT_BATCH_SIZE</c>, 512).</summary>
    public int MaxBatchSpans { get; init; } = 512;
    /// <summary>Spans held while exports are behind (<c>OTEL_BSP_MAX_QUEUE_SIZE</c>, 2048); past it new spans are dropped and counted.</summary>
    public int MaxQueueSpans { get; init; } = 2048;
    /// <summary>The resource's attributes (<c>service.name</c> first).</summary>
    public required IReadOnlyList<KeyValuePair<string, string>> Resource { get; init; }
    public string ScopeVersion { get; init; } = "";
    /// <summary>The waits before each retry of a failed export (twice: 1 s, then 2 s).</summary>
    public IReadOnlyList<TimeSpan> RetryBackoff { get; init; } = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)];
}

/// <summary>
/// Batches encoded spans and posts them to an OTLP receiver. A span arrives as its finished protobuf bytes and is
/// copied into the open batch under a short lock; a batch goes when it is full or the schedule delay has passed,
/// framed as one <c>ExportTraceServiceRequest</c> without copying the spans again. The request path never waits
/// on the network: when exports fall behind, new spans are dropped and counted, never queued without bound.
/// Failed exports are retried twice for the statuses OTLP calls retryable; stopping the host exports what is left.
/// </summary>
internal sealed partial class OtlpTraceExporter : IHostedService, IDisposable
{
    private readonly OtlpTraceOptions _options;
    private readonly ILogger _logger;
    private readonly HttpMessageInvoker _http;
    private readonly byte[] _resource, _scope; // ResourceSpans.resource and ScopeSpans.scope, encoded once
    private readonly object _lock = new();
    private readonly Queue<Batch> _ready = new();
    private readonly Stack<Batch> _free = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly int _maxReadyBatches;
    private Batch _open;
    private long _exported, _dropped, _failed;
    private bool _failing;
    private int _disposed;
    private CancellationTokenSource? _stopping;
    private Task? _loop;

    public OtlpTraceExporter(OtlpTraceOptions options, ILogger<OtlpTraceExporter> logger, HttpMessageHandler? handler = null)
    {
        _options = options;
        _logger = logger;
        _http = new HttpMessageInvoker(handler ?? new SocketsHttpHandler
        {
            ConnectTimeout = options.Timeout,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(50),
            ActivityHeadersPropagator = null,
            UseCookies = false,
            AllowAutoRedirect = false,
        });
        (_resource, _scope) = Prelude(options);
        _open = new Batch();
        _maxReadyBatches = Math.Max(1, options.MaxQueueSpans / Math.Max(1, options.MaxBatchSpans));
    }

    /// <summary>Spans sent and accepted; dropped because exports were behind; lost to exports that failed.</summary>
    public long Exported => Interlocked.Read(ref _exported);
    public long Dropped => Interlocked.Read(ref _dropped);
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Adds one span, already encoded as a <c>ScopeSpans.spans</c> field (tag, length, span).</summary>
    public void Add(ReadOnlySpan<byte> span)
    {
        bool wake = false;
        lock (_lock)
        {
            if (_open.Count >= _options.MaxBatchSpans)
            {
                if (_ready.Count >= _maxReadyBatches)
                {
                    _dropped++;
                    return;
                }
                _ready.Enqueue(_open);
                _open = _free.Count > 0 ? _free.Pop() : new Batch();
                wake = true;
            }
            _open.Append(span);
        }
        if (wake) _wake.Release();
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _stopping = new CancellationTokenSource();
        _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Stops the schedule and exports what is left, within the host's stop limit.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping is null || _loop is null) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        await ExportPendingAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await _wake.WaitAsync(_options.ScheduleDelay, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            await ExportPendingAsync(stopping).ConfigureAwait(false);
        }
    }

    /// <summary>Exports every full batch, then the open one if it holds anything.</summary>
    public async Task ExportPendingAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Batch? batch;
            lock (_lock)
            {
                if (!_ready.TryDequeue(out batch))
                {
                    if (_open.Count == 0) return;
                    batch = _open;
                    _open = _free.Count > 0 ? _free.Pop() : new Batch();
                }
            }
            bool sent = false;
            try
            {
                sent = await SendWithRetriesAsync(batch, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }
            if (sent) Interlocked.Add(ref _exported, batch.Count);
            else Interlocked.Add(ref _failed, batch.Count);
            batch.Clear();
            lock (_lock) _free.Push(batch);
            if (!sent && cancellationToken.IsCancellationRequested) return;
        }
    }

    private async Task<bool> SendWithRetriesAsync(Batch batch, CancellationToken cancellationToken)
    {
        for (int attempt = 0; ; attempt++)
        {
            var (ok, retryable, why) = await SendAsync(batch, cancellationToken).ConfigureAwait(false);
            if (ok)
            {
                if (_failing)
                {
                    _failing = false;
                    Log.Recovered(_logger, _options.Endpoint);
                }
                return true;
            }
            if (!retryable || attempt == _options.RetryBackoff.Count || cancellationToken.IsCancellationRequested)
            {
                // Said once when exports start failing, and again when they recover: not once per batch.
                if (!_failing)
                {
                    _failing = true;
                    Log.ExportFailed(_logger, _options.Endpoint, why);
                }
                return false;
            }
            await Task.Delay(_options.RetryBackoff[attempt], cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<(bool Ok, bool Retryable, string Why)> SendAsync(Batch batch, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _options.Endpoint)
        {
            Content = new BatchContent(_resource, _scope, batch, _options.Grpc),
        };
        if (_options.Grpc)
        {
            request.Version = HttpVersion.Version20;
            request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
            request.Headers.TryAddWithoutValidation("te", "trailers");
        }
        foreach (var (name, value) in _options.Headers) request.Headers.TryAddWithoutValidation(name, value);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(_options.Timeout);
        try
        {
            using var response = await _http.SendAsync(request, limit.Token).ConfigureAwait(false);
            // The body is read whole: a gRPC status arrives in the trailers, after it.
            await response.Content.CopyToAsync(Stream.Null, limit.Token).ConfigureAwait(false);
            if (!_options.Grpc)
            {
                int status = (int)response.StatusCode;
                return response.IsSuccessStatusCode ? (true, false, "")
                    : (false, status is 429 or 502 or 503 or 504, $"HTTP {status}");
            }
            if (response.StatusCode != HttpStatusCode.OK) return (false, response.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests, $"HTTP {(int)response.StatusCode}");
            string? grpcStatus = response.TrailingHeaders.TryGetValues("grpc-status", out var trailer) ? trailer.FirstOrDefault()
                : response.Headers.TryGetValues("grpc-status", out var header) ? header.FirstOrDefault() : null;
            // UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED and CANCELLED may pass on a later try.
            return grpcStatus == "0" ? (true, false, "") : (false, grpcStatus is "14" or "4" or "8" or "10" or "1", $"gRPC status {grpcStatus ?? "missing"}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (false, true, $"no answer within {_options.Timeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException ex)
        {
            return (false, true, ex.Message);
        }
    }

    /// <summary>Idempotent: the container disposes it both as itself and as a hosted service.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stopping?.Cancel();
        _stopping?.Dispose();
        _http.Dispose();
        _wake.Dispose();
        lock (_lock)
        {
            _open.Release();
            while (_ready.TryDequeue(out var batch)) batch.Release();
            while (_free.TryPop(out var batch)) batch.Release();
        }
    }

    /// <summary><c>ResourceSpans.resource</c> and <c>ScopeSpans.scope</c> (each field 1 of its message): the parts of every export that never change.</summary>
    private static (byte[] Resource, byte[] Scope) Prelude(OtlpTraceOptions options)
    {
        var buffer = new byte[64 * 1024];
        var w = new ProtoWriter(buffer);
        w.Message(1, out int resource);
        foreach (var (key, value) in options.Resource)
        {
            w.BeginAttribute(1, System.Text.Encoding.UTF8.GetBytes(key), out int kv, out int any);
            w.StringField(1, value);
            w.EndAttribute(kv, any);
        }
        w.EndLength(resource);
        byte[] resourceField = w.Written.ToArray();
        w = new ProtoWriter(buffer);
        w.Message(1, out int scope);
        w.StringField(1, GatewayTracer.ScopeName);
        if (options.ScopeVersion.Length > 0) w.StringField(2, options.ScopeVersion);
        w.EndLength(scope);
        return (resourceField, w.Written.ToArray());
    }

    /// <summary>Encoded spans (each a whole <c>ScopeSpans.spans</c> field) in pooled memory.</summary>
    private sealed class Batch
    {
        private byte[] _buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);

        public int Count { get; private set; }
        public int Length { get; private set; }
        public ReadOnlyMemory<byte> Written => _buffer.AsMemory(0, Length);

        public void Append(ReadOnlySpan<byte> span)
        {
            if (Length + span.Length > _buffer.Length)
            {
                var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, Length + span.Length));
                _buffer.AsSpan(0, Length).CopyTo(larger);
                if (_buffer.Length > 0) ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = larger;
            }
            span.CopyTo(_buffer.AsSpan(Length));
            Length += span.Length;
            Count++;
        }

        public void Clear() => Count = Length = 0;

        public void Release()
        {
            if (_buffer.Length > 0) ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
            Clear();
        }
    }

    /// <summary>
    /// One <c>ExportTraceServiceRequest</c> { resource_spans = 1: ResourceSpans { resource = 1, scope_spans = 2: ScopeSpans
    /// { scope, spans... } } }: the framing is worked out from the lengths, the spans are written from the batch as they are.
    /// Over gRPC the message goes in one uncompressed frame (a zero byte, then its length, big-endian).
    /// </summary>
    private sealed class BatchContent : HttpContent
    {
        private readonly byte[] _head;
        private readonly ReadOnlyMemory<byte> _spans;

        public BatchContent(byte[] resource, byte[] scope, Batch batch, bool grpc)
        {
            _spans = batch.Written;
            int scopeSpans = scope.Length + batch.Length;
            int resourceSpans = resource.Length + 1 + ProtoWriter.VarintSize((uint)scopeSpans) + scopeSpans;
            int message = 1 + ProtoWriter.VarintSize((uint)resourceSpans) + resourceSpans;
            var head = new byte[5 + 2 * 6 + resource.Length + scope.Length];
            int at = 0;
            if (grpc)
            {
                head[at++] = 0;
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(head.AsSpan(at), (uint)message);
                at += 4;
            }
            var w = new ProtoWriter(head.AsSpan(at));
            w.LengthPrefix(1, resourceSpans);
            w.AppendBytes(resource);
            w.LengthPrefix(2, scopeSpans);
            w.AppendBytes(scope);
            _head = head[..(at + w.Length)];
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(grpc ? "application/grpc" : "application/x-protobuf");
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            await SerializeToStreamAsync(stream, context, CancellationToken.None).ConfigureAwait(false);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            await stream.WriteAsync(_head, cancellationToken).ConfigureAwait(false);
            await stream.WriteAsync(_spans, cancellationToken).ConfigureAwait(false);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _head.Length + _spans.Length;
            return true;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Trace export to {Endpoint} failed ({Why}); spans are dropped until it answers again")]
        public static partial void ExportFailed(ILogger logger, Uri endpoint, string why);

        [LoggerMessage(2, LogLevel.Information, "Trace export to {Endpoint} works again")]
        public static partial void Recovered(ILogger logger, Uri endpoint);
    }
}
