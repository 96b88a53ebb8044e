using Gateway.Core.Config;
using Gateway.Storage;
using Gateway.Core.Governance;

namespace Gateway.Server.Cli;

/// <summary>
/// <c>gateway db status|migrate [--config FILE]</c>: the store the configuration points at (offline,
/// against the same file a running gateway uses), its schema version, and bringing it up to date.
/// </summary>
internal static class DatabaseCommand
{
    public static int Run(string verb, string[] args, IReadOnlyDictionary<string, string> env, TextWriter stdout, TextWriter stderr)
    {
        string? config = null;
        for (int i = 0; i < args.Length; i++)
        {
            if (TakeConfig(args, ref i, ref config)) continue;
            stderr.WriteLine($"db {verb}: unexpected argument '{args[i]}' (only --config FILE)");
            return 2;
        }
        var (location, exit) = Locate(config, env, stdout, stderr);
        if (location is null) return exit;
        try
        {
            if (verb == "migrate")
            {
                var (store, from, to) = GatewayStore.Open(location, ledger: false);
                store.DisposeAsync().AsTask().GetAwaiter().GetResult();
                stdout.WriteLine(from == to ? $"{store.Display}: schema version {to}, up to date" : $"{store.Display}: schema version {from} -> {to}");
                return 0;
            }
            var (current, latest, display, engine) = GatewayStore.Status(location);
            if (current == 0 && !location.IsPostgres)
            {
                stdout.WriteLine($"{display}: no store yet (schema version 0 of {latest}); the gateway makes it when it first needs it");
                return 0;
            }
            stdout.WriteLine($"{display}: schema version {current} of {latest} ({engine})"
                + (current < latest ? "; `gateway db migrate` or the next start brings it up to date" : ""));
            return current > latest ? 1 : 0;
        }
        catch (StorageException ex)
        {
            stderr.WriteLine($"db {verb}: {ex.Message}");
            return 1;
        }
    }

    /// <summary><c>--config FILE</c> or <c>--config=FILE</c> at <paramref name="i"/>: taken (and <paramref name="i"/> moved past it).</summary>
    internal static bool TakeConfig(string[] args, ref int i, ref string? config)
    {
        if (args[i] is "--config" or "-c" && i + 1 < args.Length && !args[i + 1].StartsWith('-'))
        {
            config = args[++i];
            return true;
        }
        if (args[i].StartsWith("--config=", StringComparison.Ordinal))
        {
            config = args[i]["--config=".Length..];
            return true;
        }
        return false;
    }

    /// <summary>The store the configuration points at, found offline (provider secrets need not be set); null with the exit code when there is none to use.</summary>
    internal static (StorageLocation? Location, int Exit) Locate(string? config, IReadOnlyDictionary<string, string> env, TextWriter stdout, TextWriter stderr)
    {
        config ??= GatewayCli.DefaultConfig(env);
        var load = ConfigLoader.LoadFile(Gateway.Providers.BuiltInProviders.Catalog, config, env, offline: true);
        if (!load.IsValid)
        {
            foreach (var error in load.Errors) stderr.WriteLine(error);
            return (null, 1);
        }
        var storage = load.Config!.Storage;
        var (location, problem) = StorageLocation.Parse(storage.Database, storage.DataDir);
        if (location is not null) return (location, 0);
        if (problem is null)
        {
            stdout.WriteLine("storage.database is \"none\": this gateway keeps no store");
            return (null, 0);
        }
        stderr.WriteLine(problem);
        return (null, 1);
    }

    /// <summary>The store's governance data, opened and brought to the current schema (as the gateway does at start).</summary>
    internal static IGovernanceStore OpenCurrent(StorageLocation location) => GatewayStore.Open(location, ledger: false).Store.Governance;
}
