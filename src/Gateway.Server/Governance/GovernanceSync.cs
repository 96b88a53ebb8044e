using Gateway.Core.Governance;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Governance;

/// <summary>
/// Keeps the in-memory governance in step with the store, off the request path: the directory is
/// loaded at start and again whenever the store's directory version moves (an admin change here, the
/// offline CLI, another process), and settled budget spend is written once a second and at shutdown.
/// </summary>
internal sealed partial class GovernanceSync(IGovernanceStore store, DirectoryHolder directory, Governor governor, TimeProvider time, ILogger<GovernanceSync> logger)
    : BackgroundService
{
    /// <summary>Replicas sharing a Redis: a change made here is announced to the others, who apply it before this replica answers.</summary>
    public Gateway.Storage.Redis.RedisBroadcast? Broadcast { get; set; }

    /// <summary>After a change this replica made to the store: rebuilt here, then taken in by every other replica (bounded wait).</summary>
    public void Changed()
    {
        Reload();
        // The admin API's handlers are synchronous; a change is rare, and the wait is bounded (RedisBroadcast.AckWait).
        Broadcast?.AnnounceAsync().GetAwaiter().GetResult();
    }

    /// <summary>Work replicas sharing a store do every second (deployment budgets read across replicas); null on one node.</summary>
    public Func<Task>? SharedTick { get; set; }

    /// <summary>Providers stored through another replica's admin API: read again and published (set at start when replicas share a store).</summary>
    public Action? ProvidersChanged { get; set; }

    /// <summary>A change another replica made: taken in now (called by the broadcast, one at a time).</summary>
    public void Apply()
    {
        Reload();
        ReloadProviders();
        Log.Reloaded(logger, directory.Current.Version);
    }

    private void ReloadProviders()
    {
        try
        {
            ProvidersChanged?.Invoke();
        }
        catch (Exception ex) when (Gateway.Storage.GatewayStore.IsStoreFailure(ex) || ex is InvalidOperationException)
        {
            Log.SyncFailed(logger, ex.Message);
        }
    }

    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private readonly Lock _reload = new();

    /// <summary>Loads the directory and the current periods' spend; called before the gateway listens.</summary>
    public void Start()
    {
        Reload();
        // Spend of periods that may still be current: a month back covers every period but lifetime (always loaded).
        long since = time.GetUtcNow().AddDays(-32).ToUnixTimeMilliseconds();
        governor.Load(store.LoadSpend(since));
    }

    /// <summary>Rebuilds the directory from the store and swaps it in: the next request sees the change.</summary>
    public void Reload()
    {
        lock (_reload)
        {
            long version = store.DirectoryVersion();
            var (tenants, teams, keys) = store.LoadDirectory();
            directory.Swap(new GovernanceDirectory(tenants, teams, keys, governor, version));
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        if (Broadcast is { } broadcast) await broadcast.StartAsync().ConfigureAwait(false);
        int ticks = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                // The replicas listening, every 5 s: the count rate limits are shared by if Redis goes away.
                if (Broadcast is not null && ++ticks % 5 == 0) await Broadcast.CountAsync().ConfigureAwait(false);
                if (SharedTick is not null) await SharedTick().ConfigureAwait(false);
                try
                {
                    if (Broadcast is { Started: false } unsubscribed) await unsubscribed.StartAsync().ConfigureAwait(false);
                    if (store.DirectoryVersion() != directory.Current.Version)
                    {
                        Reload();
                        ReloadProviders();
                        Log.Reloaded(logger, directory.Current.Version);
                    }
                }
                catch (Exception ex) when (Gateway.Storage.GatewayStore.IsStoreFailure(ex) || ex is InvalidDataException)
                {
                    Log.SyncFailed(logger, ex.Message);
                }
                FlushSpend();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        FlushSpend();
    }

    /// <summary>Writes settled spend; what fails goes back to be written with the next flush.</summary>
    public void FlushSpend()
    {
        var rows = governor.TakeUnflushed();
        if (rows.Count == 0) return;
        try
        {
            store.AddSpend(rows);
        }
        catch (Exception ex) when (Gateway.Storage.GatewayStore.IsStoreFailure(ex))
        {
            governor.Return(rows);
            Log.SpendFailed(logger, rows.Count, ex.Message);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6101, Level = LogLevel.Information, Message = "Tenants, teams and keys reloaded from the store (version {Version})")]
        public static partial void Reloaded(ILogger logger, long version);

        [LoggerMessage(EventId = 6102, Level = LogLevel.Error, Message = "Reading tenants, teams and keys from the store failed; the last ones read stay in force: {Reason}")]
        public static partial void SyncFailed(ILogger logger, string reason);

        [LoggerMessage(EventId = 6103, Level = LogLevel.Error, Message = "Writing budget spend ({Rows} rows) failed; it is kept and retried: {Reason}")]
        public static partial void SpendFailed(ILogger logger, int rows, string reason);
    }
}
