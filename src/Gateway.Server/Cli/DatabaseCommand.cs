using Gateway.Core.Config;
using Gateway.Storage;
using Gateway.Storage.Migrations;
using Gateway.Storage.Sqlite;

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
            if (args[i] is "--config" or "-c" && i + 1 < args.Length && !args[i + 1].StartsWith('-')) config = args[++i];
            else if (args[i].StartsWith("--config=", StringComparison.Ordinal)) config = args[i]["--config=".Length..];
            else
            {
                stderr.WriteLine($"db {verb}: unexpected argument '{args[i]}' (only --config FILE)");
                return 2;
            }
        }
        config ??= GatewayCli.DefaultConfig(env);
        // Offline: the store is found without the provider secrets being set.
        var load = ConfigLoader.LoadFile(Gateway.Providers.BuiltInProviders.Catalog, config, env, offline: true);
        if (!load.IsValid)
        {
            foreach (var error in load.Errors) stderr.WriteLine(error);
            return 1;
        }
        var storage = load.Config!.Storage;
        var (location, problem) = StorageLocation.Parse(storage.Database, storage.DataDir);
        if (location is null)
        {
            if (problem is null)
            {
                stdout.WriteLine("storage.database is \"none\": this gateway keeps no store");
                return 0;
            }
            stderr.WriteLine(problem);
            return 1;
        }
        try
        {
            var database = new SqliteDatabase(location);
            if (verb == "migrate")
            {
                var (from, to) = SchemaMigrations.Apply(database);
                stdout.WriteLine(from == to ? $"{location.SqlitePath}: schema version {to}, up to date" : $"{location.SqlitePath}: schema version {from} -> {to}");
                return 0;
            }
            if (!File.Exists(location.SqlitePath))
            {
                stdout.WriteLine($"{location.SqlitePath}: no store yet (schema version 0 of {SchemaMigrations.Latest}); the gateway makes it when it first needs it");
                return 0;
            }
            using var connection = database.Open();
            int current = SchemaMigrations.CurrentVersion(connection);
            stdout.WriteLine($"{location.SqlitePath}: schema version {current} of {SchemaMigrations.Latest} (SQLite {SqliteDatabase.LibraryVersion})"
                + (current < SchemaMigrations.Latest ? "; `gateway db migrate` or the next start brings it up to date" : ""));
            return current > SchemaMigrations.Latest ? 1 : 0;
        }
        catch (StorageException ex)
        {
            stderr.WriteLine($"db {verb}: {ex.Message}");
            return 1;
        }
    }
}
