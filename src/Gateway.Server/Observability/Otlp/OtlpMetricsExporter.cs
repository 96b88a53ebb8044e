using System.Buffers;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Observability.Otlp;

/// <summary>How often metrics go (<c>OTEL_METRIC_EXPORT_INTERVAL</c>, 60 s).</summary>
internal sealed record OtlpMetricsOptions
{
    public required OtlpExportOptions Export { get; init; }
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// Sends the gateway's metrics over OTLP on a schedule, read from the same cells <c>/metrics</c> shows
/// (<see cref="GatewayMetrics.WriteOtlp"/>): a request records nothing more for OTLP than its GenAI histograms,
/// into cells like the others, so no metrics SDK sits on the request path. Stopping the host sends once more.
/// </summary>
internal sealed class OtlpMetricsExporter : BackgroundService
{
    private readonly OtlpMetricsOptions _options;
    private readonly GatewayMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly OtlpSender _sender;
    private readonly ulong _start;
    private int _disposed;

    public OtlpMetricsExporter(OtlpMetricsOptions options, GatewayMetrics metrics, TimeProvider time, ILogger<OtlpMetricsExporter> logger, HttpMessageHandler? handler = null)
    {
        _options = options;
        _metrics = metrics;
        _time = time;
        _sender = new OtlpSender(options.Export, "Metrics", "Gateway", logger, handler);
        _start = Now();
    }

    /// <summary>Stops the schedule, then sends once more, within the host's stop limit.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await ExportAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(_options.Interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
                await ExportAsync(stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    /// <summary>Writes every metric's points now and sends them; false when the receiver did not take them.</summary>
    public async Task<bool> ExportAsync(CancellationToken cancellationToken)
    {
        var (buffer, length) = Encode();
        try
        {
            return await _sender.SendAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Encodes into pooled memory sized by the series count; series may be added while it writes, so a buffer that
    /// proves too small is given back and a larger one tried.
    /// </summary>
    private (byte[] Buffer, int Length) Encode()
    {
        int size = 64 * 1024 + _metrics.SeriesCount * 2048;
        while (true)
        {
            var buffer = ArrayPool<byte>.Shared.Rent(size);
            try
            {
                var w = new ProtoWriter(buffer);
                _metrics.WriteOtlp(ref w, _start, Now());
                return (buffer, w.Length);
            }
            catch (Exception ex) when (ex is IndexOutOfRangeException or ArgumentOutOfRangeException or ArgumentException)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                size = checked(size * 2);
            }
        }
    }

    private ulong Now() => (ulong)(_time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;

    /// <summary>Idempotent: a dispose may follow its own stop, or come alone when the start was given up.</summary>
    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        base.Dispose();
        _sender.Dispose();
    }
}
