using Gateway.Core.Config;
using Microsoft.Extensions.Logging;

namespace Gateway.Policies;

/// <summary>
/// Owns the policies in force: compiles them from the configuration, watches their files, and
/// swaps in a changed file's new version once it compiles. A file that does not compile keeps the
/// version serving, and the log says why with line and column.
/// </summary>
public sealed partial class PolicyRegistry(ILogger<PolicyRegistry> logger) : IDisposable
{
    // Editors save in several steps (truncate, write, rename): wait for the file to settle.
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(150);
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Timer> _pending = new(StringComparer.Ordinal);
    private List<FileSystemWatcher> _watchers = [];
    private PolicySet _current = PolicySet.Empty;
    private long _version;
    private bool _disposed;

    private PolicyRunner? _runner;

    public PolicySet Current => Volatile.Read(ref _current);

    /// <summary>The runner if a policy has started it (for metrics, which must not start one); else null.</summary>
    public PolicyRunner? StartedRunner => Volatile.Read(ref _runner);

    /// <summary>The threads every policy call runs on, started with the first policy.</summary>
    public PolicyRunner Runner
    {
        get
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                return _runner ??= new PolicyRunner(logger);
            }
        }
    }

    /// <summary>
    /// Compiles the configured policies; a slot whose file and settings did not change keeps its
    /// compiled version (and meter). Null, with the reasons in <paramref name="errors"/>, if any fails.
    /// </summary>
    /// <param name="server">Where the policy workers' settings come from (defaults when null).</param>
    public PolicySet? Build(IReadOnlyList<PolicyConfig> configs, List<string> errors, ServerConfig? server = null)
    {
        if (configs.Count == 0) return PolicySet.Empty;
        var runner = Runner;
        runner.Configure(server?.PolicyWorkers ?? 0, server?.PolicyQueue ?? PolicyRunner.DefaultQueueTimeout);
        var previous = Current.Slots.ToDictionary(s => s.Name, StringComparer.Ordinal);
        var slots = new List<PolicySlot>(configs.Count);
        foreach (var config in configs)
        {
            if (previous.TryGetValue(config.Name, out var kept) && kept.Config == config)
            {
                slots.Add(kept);
                continue;
            }
            if (Compile(config, out var error) is { } policy) slots.Add(new PolicySlot(config, policy));
            else errors.Add(error!);
        }
        return errors.Count > 0 ? null : new PolicySet(slots, runner);
    }

    /// <summary>Puts a built set in force and watches its files.</summary>
    public void Activate(PolicySet set)
    {
        lock (_gate)
        {
            if (_disposed) return;
            Volatile.Write(ref _current, set);
            foreach (var watcher in _watchers) watcher.Dispose();
            _watchers = [];
            foreach (var directory in set.Slots.Where(s => !s.Config.IsBuiltin).Select(s => Path.GetDirectoryName(s.Config.File)!).Distinct(StringComparer.Ordinal))
            {
                var watcher = new FileSystemWatcher(directory, "*.js")
                {
                    NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
                };
                watcher.Changed += (_, e) => Schedule(e.FullPath);
                watcher.Created += (_, e) => Schedule(e.FullPath);
                watcher.Renamed += (_, e) => Schedule(e.FullPath);
                // A deleted file is reported (it cannot be read) and its last version keeps serving.
                watcher.Deleted += (_, e) => Schedule(e.FullPath);
                watcher.EnableRaisingEvents = true;
                _watchers.Add(watcher);
            }
        }
        foreach (var slot in set.Slots) Log.Serving(logger, slot.Name, slot.Current.Version, slot.Config.File, slot.Current.Hooks.ToString());
    }

    private void Schedule(string path)
    {
        lock (_gate)
        {
            if (_disposed || !Current.Slots.Any(s => s.Config.File == path)) return;
            if (!_pending.TryGetValue(path, out var timer))
                _pending[path] = timer = new Timer(_ => ReloadFile(path), null, Timeout.Infinite, Timeout.Infinite);
            timer.Change(Debounce, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Recompiles every policy read from <paramref name="path"/>; each swaps only if it compiles.</summary>
    public void ReloadFile(string path)
    {
        foreach (var slot in Current.Slots.Where(s => s.Config.File == path))
        {
            if (Compile(slot.Config, out var error) is { } next)
            {
                slot.Swap(next);
                Log.Reloaded(logger, slot.Name, next.Version, next.Hooks.ToString());
            }
            else
            {
                Log.ReloadFailed(logger, slot.Name, error!, slot.Current.Version);
            }
        }
    }

    private CompiledPolicy? Compile(PolicyConfig config, out string? error)
    {
        var mode = config.FailOpen ? PolicyMode.FailOpen : PolicyMode.FailClosed;
        if (config.IsBuiltin)
        {
            error = null;
            return Pii.PiiRedactionPolicy.Compile(config, Interlocked.Increment(ref _version), mode, LimitsOf(config.Limits));
        }
        string code;
        try
        {
            code = File.ReadAllText(config.File);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            error = $"policy '{config.Name}': cannot read {config.File}: {ex.Message}";
            return null;
        }
        var policy = CompiledPolicy.Compile(config.Name, code, Interlocked.Increment(ref _version), mode, LimitsOf(config.Limits), out error,
            Path.GetFileName(config.File), config.Headers);
        if (policy is null) error = $"policy '{config.Name}' ({config.File}): {error}";
        return policy;
    }

    public static PolicyLimits LimitsOf(PolicyLimitsConfig config)
    {
        var limits = PolicyLimits.Default;
        if (config.TimeoutMs is { } t) limits = limits with { Timeout = TimeSpan.FromMilliseconds(t) };
        if (config.MaxStatements is { } s) limits = limits with { MaxStatements = s };
        if (config.MaxMemoryBytes is { } m) limits = limits with { MaxMemoryBytes = m };
        if (config.MaxRecursion is { } r) limits = limits with { MaxRecursionDepth = r };
        if (config.RegexTimeoutMs is { } x) limits = limits with { RegexTimeout = TimeSpan.FromMilliseconds(x) };
        return limits;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            foreach (var watcher in _watchers) watcher.Dispose();
            _watchers = [];
            foreach (var timer in _pending.Values) timer.Dispose();
            _pending.Clear();
            _runner?.Dispose();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Policy {Policy} version {Version} serving from {File} (hooks: {Hooks})")]
        public static partial void Serving(ILogger logger, string policy, long version, string file, string hooks);

        [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Policy {Policy} reloaded: version {Version} is now serving (hooks: {Hooks})")]
        public static partial void Reloaded(ILogger logger, string policy, long version, string hooks);

        [LoggerMessage(EventId = 4003, Level = LogLevel.Error, Message = "Policy {Policy} change rejected, version {Version} keeps serving: {Error}")]
        public static partial void ReloadFailed(ILogger logger, string policy, string error, long version);
    }
}
