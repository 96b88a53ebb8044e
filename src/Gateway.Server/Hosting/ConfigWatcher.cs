using Gateway.Core;
using Gateway.Core.Config;
using Gateway.Policies;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Hosting;

/// <summary>
/// Hot reload: watches gateway.json; a valid new version becomes the current snapshot atomically
/// (requests in flight finish on the one they started with), an invalid one is logged and ignored.
/// </summary>
internal sealed partial class ConfigWatcher(
    GatewayHostOptions options, SnapshotHolder holder, SnapshotFactory factory, PolicyRegistry policies, ILogger<ConfigWatcher> logger) : IHostedService, IDisposable
{
    // Editors write a file in several steps (truncate, write, rename): wait for them to settle.
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(200);
    private FileSystemWatcher? _watcher;
    private Timer? _timer;
    private string? _lastText;
    private bool _missing;
    private readonly Lock _gate = new();
    private volatile ReloadFailure? _lastFailure;

    /// <summary>The last reload that was rejected, while no later one succeeded (for <c>/ready</c>); null when the file serves as written.</summary>
    public ReloadFailure? LastFailure => _lastFailure;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.ConfigPath is null) return Task.CompletedTask;
        string full = Path.GetFullPath(options.ConfigPath);
        _lastText = TryRead(full);
        _timer = new Timer(_ => Reload(full), null, Timeout.Infinite, Timeout.Infinite);
        _watcher = new FileSystemWatcher(Path.GetDirectoryName(full)!, Path.GetFileName(full))
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        _watcher.Changed += (_, _) => Schedule();
        _watcher.Created += (_, _) => Schedule();
        _watcher.Renamed += (_, _) => Schedule();
        _watcher.Deleted += (_, _) => Schedule();
        _watcher.EnableRaisingEvents = true;
        return Task.CompletedTask;
    }

    private void Schedule() => _timer?.Change(Debounce, Timeout.InfiniteTimeSpan);

    internal void Reload(string path)
    {
        lock (_gate)
        {
            string? text = TryRead(path);
            if (text is null)
            {
                // Gone (deleted, or renamed away mid-save): said once; the last configuration keeps serving.
                if (!File.Exists(path) && !_missing)
                {
                    _missing = true;
                    Log.FileMissing(logger, path, holder.Current.Version);
                }
                return;
            }
            _missing = false;
            if (text == _lastText) return;
            _lastText = text;
            var result = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, text, path, options.Environment, Path.GetDirectoryName(path));
            foreach (var warning in result.Warnings) Log.ConfigWarning(logger, warning);
            if (!result.IsValid)
            {
                Rejected(result.Errors);
                return;
            }
            var policyErrors = new List<string>();
            if (policies.Build(result.Config!.Policies, policyErrors, result.Config!.Server) is not { } policySet)
            {
                Rejected(policyErrors);
                return;
            }
            try
            {
                var previous = holder.Current;
                GatewaySnapshot next;
                // The configuration and the policies built from it go in together: no request sees one without the other.
                lock (factory.Publishing)
                {
                    next = factory.Build(result.Config!).WithPolicies(policySet);
                    holder.Swap(next);
                }
                policies.Activate(policySet);
                _lastFailure = null;
                Log.Reloaded(logger, path, next.Version);
                // Kestrel listens where it started: a new address takes a restart.
                if (!string.Equals(previous.Config.Server.Urls, next.Config.Server.Urls, StringComparison.Ordinal))
                    Log.UrlsNeedRestart(logger, next.Config.Server.Urls, previous.Config.Server.Urls);
                if (!string.Equals(previous.Config.Server.LogFormat, next.Config.Server.LogFormat, StringComparison.Ordinal))
                    Log.LogFormatNeedsRestart(logger, next.Config.Server.LogFormat, previous.Config.Server.LogFormat);
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or UriFormatException)
            {
                Rejected([ex.Message]);
            }
        }
    }

    private void Rejected(IReadOnlyList<string> errors)
    {
        foreach (var error in errors) Log.ReloadRejected(logger, error);
        Log.KeptSnapshot(logger, holder.Current.Version);
        _lastFailure = new ReloadFailure(DateTimeOffset.UtcNow, errors.Count > 0 ? errors[0] : "rejected", errors.Count);
    }

    private static string? TryRead(string path)
    {
        try { return File.ReadAllText(path); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _watcher = null;
        _timer?.Dispose();
        _timer = null;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Configuration reloaded from {Path}: snapshot {Version} is now serving")]
        public static partial void Reloaded(ILogger logger, string path, long version);

        [LoggerMessage(EventId = 3002, Level = LogLevel.Error, Message = "Configuration change rejected: {Error}")]
        public static partial void ReloadRejected(ILogger logger, string error);

        [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Keeping the last good configuration (snapshot {Version})")]
        public static partial void KeptSnapshot(ILogger logger, long version);

        [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Configuration: {Warning}")]
        public static partial void ConfigWarning(ILogger logger, string warning);

        [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "Configuration file {Path} is gone; the last configuration (snapshot {Version}) keeps serving until it is back")]
        public static partial void FileMissing(ILogger logger, string path, long version);

        [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "server.urls changed to {Urls}; the gateway keeps listening on {Previous} until it is restarted")]
        public static partial void UrlsNeedRestart(ILogger logger, string urls, string previous);

        [LoggerMessage(EventId = 3007, Level = LogLevel.Warning, Message = "server.logFormat changed to {Format}; the log stays {Previous} until the gateway is restarted")]
        public static partial void LogFormatNeedsRestart(ILogger logger, string format, string previous);
    }
}

/// <summary>A rejected reload: when, the first reason, and how many reasons there were.</summary>
internal sealed record ReloadFailure(DateTimeOffset At, string Reason, int Problems);
