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
internal sealed class OtlpMetricsExporter : IHostedService, IDisposable
{
    private readonly OtlpMetricsOptions _options;
    private readonly GatewayMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly OtlpSender _sender;
    private readonly ulong _start;
    private CancellationTokenSource? _stopping;
    private Task? _loop;
    private int _disposed;

    public OtlpMetricsExporter(OtlpMetricsOptions options, GatewayMetrics metrics, TimeProvider time, ILogger<OtlpMetricsExporter> logger, HttpMessageHandler? handler = null)
    {
        _options = options;
        _metrics = metrics;
        _time = time;
        _sender = new OtlpSender(options.Export, "Metrics", "Gateway", logger, handler);
        _start = Now();
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _stopping = new CancellationTokenSource();
        _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping is null || _loop is null) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        await ExportAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task RunAsync(CancellationToken stopping)
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

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stopping?.Cancel();
        _stopping?.Dispose();
        _sender.Dispose();
    }
}
