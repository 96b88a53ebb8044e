using Gateway.Policies;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Hosting;

/// <summary>
/// Logs each policy's meter (calls, failures, limit hits, time) at a fixed interval, for the
/// policies that ran since the last line; silent when nothing ran. Metrics will read the same meters.
/// </summary>
internal sealed partial class PolicyMeterReporter(PolicyRegistry registry, GatewayHostOptions options, ILogger<PolicyMeterReporter> logger) : BackgroundService
{
    private readonly Dictionary<PolicySlot, long> _reported = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.PolicyMeterInterval, options.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false)) Report();
        }
        catch (OperationCanceledException)
        {
        }
        Report();
    }

    internal void Report()
    {
        foreach (var slot in registry.Current.Slots)
        {
            var meter = slot.Meter;
            long calls = meter.Calls;
            if (calls == _reported.GetValueOrDefault(slot)) continue;
            _reported[slot] = calls;
            double averageUs = calls == 0 ? 0 : meter.Time.TotalMicroseconds / calls;
            Log.Meter(logger, slot.Name, calls, meter.Failures, meter.LimitHits, Math.Round(averageUs, 1), slot.Current.Version);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4201, Level = LogLevel.Information,
            Message = "Policy {Policy}: {Calls} calls, {Failures} failures, {LimitHits} limit hits, {AverageUs} us per call (version {Version})")]
        public static partial void Meter(ILogger logger, string policy, long calls, long failures, long limitHits, double averageUs, long version);
    }
}
