using System.Buffers;
using Microsoft.Extensions.Hosting;
using Gateway.Server.Observability.Otlp;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Observability.Tracing;

/// <summary>Where spans go, and how many wait for an export (<c>OTEL_BSP_*</c>).</summary>
internal sealed record OtlpTraceOptions
{
    public required OtlpExportOptions Export { get; init; }
    /// <summary>The longest a span waits for its batch to go (<c>OTEL_BSP_SCHEDULE_DELAY</c>, 5 s).</summary>
    public TimeSpan ScheduleDelay { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Spans per export (<c>OTEL_BSP_MAX_EXPORT_BATCH_SIZE</c>, 512).</summary>
    public int MaxBatchSpans { get; init; } = 512;
    /// <summary>Spans held while exports are behind (<c>OTEL_BSP_MAX_QUEUE_SIZE</c>, 2048); past it new spans are dropped and counted.</summary>
    public int MaxQueueSpans { get; init; } = 2048;
}

/// <summary>
/// Batches encoded spans and posts them to an OTLP receiver. A span arrives as its finished protobuf bytes and is
/// copied into the open batch under a short lock; a batch goes when it is full or the schedule delay has passed,
/// posted by <see cref="OtlpSender"/> without copying the spans again. The request path never waits on the network:
/// when exports fall behind, new spans are dropped and counted, never queued without bound. Stopping the host
/// exports what is left.
/// </summary>
internal sealed class OtlpTraceExporter : BackgroundService
{
    private readonly OtlpTraceOptions _options;
    private readonly OtlpSender _sender;
    private readonly object _lock = new();
    private readonly Queue<Batch> _ready = new();
    private readonly Stack<Batch> _free = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly int _maxReadyBatches;
    private Batch _open;
    private long _exported, _dropped, _failed;
    private int _disposed;

    public OtlpTraceExporter(OtlpTraceOptions options, ILogger<OtlpTraceExporter> logger, HttpMessageHandler? handler = null)
    {
        _options = options;
        _sender = new OtlpSender(options.Export, "Trace", GatewayTracer.ScopeName, logger, handler);
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

    /// <summary>Stops the schedule and exports what is left, within the host's stop limit.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await ExportPendingAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stopping)
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
                sent = await _sender.SendAsync(batch.Written, cancellationToken).ConfigureAwait(false);
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

    /// <summary>Idempotent: a dispose may follow its own stop, or come alone when the start was given up.</summary>
    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        base.Dispose();
        _sender.Dispose();
        _wake.Dispose();
        lock (_lock)
        {
            _open.Release();
            while (_ready.TryDequeue(out var batch)) batch.Release();
            while (_free.TryPop(out var batch)) batch.Release();
        }
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
}
