using Gateway.Core.Governance;
using Gateway.Storage.Migrations;
using Gateway.Storage.Postgres;
using Gateway.Storage.Sqlite;

namespace Gateway.Storage;

/// <summary>
/// The store a gateway runs on, opened and brought to the current schema: SQLite embedded (one node), or
/// PostgreSQL (replicas share it, and each request's usage is committed as it ends: <see cref="Ledger"/>).
/// The rest of the gateway sees only the interfaces.
/// </summary>
public sealed class GatewayStore : IAsyncDisposable
{
    private GatewayStore(string display, IGovernanceStore governance, IRequestLogStore requestLog, SqliteDatabase? sqlite, PostgresDatabase? postgres, IUsageLedger? ledger)
    {
        Display = display;
        Governance = governance;
        RequestLog = requestLog;
        Sqlite = sqlite;
        Postgres = postgres;
        Ledger = ledger;
    }

    /// <summary>Where it is, without credentials.</summary>
    public string Display { get; }
    public IGovernanceStore Governance { get; }
    public IRequestLogStore RequestLog { get; }
    public SqliteDatabase? Sqlite { get; }
    public PostgresDatabase? Postgres { get; }
    /// <summary>Usage committed per request before it is answered; null on SQLite (one node: its batches lose at most the last 50 ms in a crash).</summary>
    public IUsageLedger? Ledger { get; }

    /// <summary>Opens the store and applies its migrations.</summary>
    /// <param name="ledger">Start the per-request usage ledger (a serving gateway; the offline CLI needs none).</param>
    /// <returns>The store, and the schema version before and after.</returns>
    /// <exception cref="StorageException">It cannot be opened, or its schema is newer than this build or fails to migrate.</exception>
    public static (GatewayStore Store, int From, int To) Open(StorageLocation location, bool ledger = true)
    {
        if (location.PostgresConnectionString is { } connectionString)
        {
            var postgres = new PostgresDatabase(connectionString);
            try
            {
                var (from, to) = PostgresMigrations.Apply(postgres);
                return (new GatewayStore(postgres.Display, new PostgresGovernanceStore(postgres), new PostgresRequestLogStore(postgres), null, postgres,
                    ledger ? new PostgresUsageLedger(postgres) : null), from, to);
            }
            catch
            {
                postgres.Dispose();
                throw;
            }
        }
        var sqlite = new SqliteDatabase(location);
        var (f, t) = SchemaMigrations.Apply(sqlite);
        return (new GatewayStore(sqlite.Path, new SqliteGovernanceStore(sqlite), new RequestLogStore(sqlite), sqlite, null, null), f, t);
    }

    /// <summary>
    /// The store's own identity: a random number written once into its <c>meta</c> table, the same for every
    /// replica that reaches this database however it names the server (a pooler, a replica's DNS name).
    /// </summary>
    public long ClusterId()
    {
        long candidate = Random.Shared.NextInt64(1, long.MaxValue);
        try
        {
            if (Postgres is not null)
            {
                using var connection = Postgres.Open();
                using var command = new Npgsql.NpgsqlCommand("""
                    WITH made AS (INSERT INTO meta (name, value) VALUES ('cluster_id', $1) ON CONFLICT (name) DO NOTHING RETURNING value)
                    SELECT value FROM made UNION ALL SELECT value FROM meta WHERE name = 'cluster_id' LIMIT 1
                    """, connection);
                command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = candidate });
                return (long)command.ExecuteScalar()!;
            }
            using var sqlite = Sqlite!.Open();
            using var insert = sqlite.CreateCommand();
            insert.CommandText = "INSERT OR IGNORE INTO meta (name, value) VALUES ('cluster_id', $1); SELECT value FROM meta WHERE name = 'cluster_id'";
            insert.Parameters.AddWithValue("$1", candidate);
            return (long)insert.ExecuteScalar()!;
        }
        catch (System.Data.Common.DbException ex)
        {
            throw new StorageException($"the store {Display}: {ex.Message}", ex);
        }
    }

    /// <summary>The schema version of the store at <paramref name="location"/> and the latest this build knows, without changing it (0: no store yet).</summary>
    /// <exception cref="StorageException">It cannot be opened.</exception>
    public static (int Current, int Latest, string Display, string Engine) Status(StorageLocation location)
    {
        if (location.PostgresConnectionString is { } connectionString)
        {
            using var postgres = new PostgresDatabase(connectionString);
            using var connection = postgres.Open();
            return (PostgresMigrations.CurrentVersion(connection), PostgresMigrations.Latest, postgres.Display, "PostgreSQL " + connection.PostgreSqlVersion);
        }
        var sqlite = new SqliteDatabase(location);
        if (!File.Exists(sqlite.Path)) return (0, SchemaMigrations.Latest, sqlite.Path, "SQLite " + SqliteDatabase.LibraryVersion);
        using var opened = sqlite.Open();
        return (SchemaMigrations.CurrentVersion(opened), SchemaMigrations.Latest, sqlite.Path, "SQLite " + SqliteDatabase.LibraryVersion);
    }

    public async ValueTask DisposeAsync()
    {
        if (Ledger is IAsyncDisposable ledger) await ledger.DisposeAsync().ConfigureAwait(false);
        Postgres?.Dispose();
    }

    /// <summary>A failure of the store itself (unreachable, refused, a statement that failed), as any engine reports it.</summary>
    public static bool IsStoreFailure(Exception ex) => ex is StorageException or System.Data.Common.DbException or Gateway.Core.Governance.SharedStoreException;
}
