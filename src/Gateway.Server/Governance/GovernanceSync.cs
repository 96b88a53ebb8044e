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
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    if (store.DirectoryVersion() != directory.Current.Version)
                    {
                        Reload();
                        Log.Reloaded(logger, directory.Current.Version);
                    }
                }
                catch (Exception ex) when (ex is Gateway.Storage.StorageException or Microsoft.Data.Sqlite.SqliteException or InvalidDataException)
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
        catch (Exception ex) when (ex is Gateway.Storage.StorageException or Microsoft.Data.Sqlite.SqliteException)
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
