using Gateway.Storage.Migrations;
using Npgsql;

namespace Gateway.Storage.Postgres;

/// <summary>
/// The PostgreSQL store's schema: the same versions as SQLite's (<see cref="SchemaMigrations"/>), each in
/// PostgreSQL's own SQL, applied forward only, each in one transaction with the version it brings (kept in
/// <c>schema_version</c>). Replicas starting together take turns on an advisory lock: one migrates, the
/// others find the work done.
/// </summary>
public static class PostgresMigrations
{
    /// <summary>An arbitrary constant naming the gateway's migration lock among the server's advisory locks.</summary>
    private const long LockId = 0x6761_7465_7761_7901;

    public static IReadOnlyList<(int Version, string Name, string Sql)> All { get; } = SchemaMigrations.Load("Gateway.Storage.Postgres.Migrations.");

    public static int Latest => All.Count == 0 ? 0 : All[^1].Version;

    public static int CurrentVersion(NpgsqlConnection connection)
    {
        using var command = new NpgsqlCommand("SELECT to_regclass('schema_version') IS NOT NULL", connection);
        if (command.ExecuteScalar() is not true) return 0;
        command.CommandText = "SELECT coalesce(max(version), 0) FROM schema_version";
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Brings the database up to <paramref name="target"/> (the latest by default).</summary>
    /// <returns>The version before and after.</returns>
    /// <exception cref="StorageException">The database is newer than this build, or a migration failed (the database keeps its version).</exception>
    public static (int From, int To) Apply(PostgresDatabase database, int? target = null)
    {
        using var connection = database.Open();
        try
        {
            using (var locking = new NpgsqlCommand($"SELECT pg_advisory_lock({LockId})", connection)) locking.ExecuteNonQuery();
            try
            {
                using (var create = new NpgsqlCommand("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", connection)) create.ExecuteNonQuery();
                int from = CurrentVersion(connection), to = target ?? Latest;
                if (from > Latest)
                    throw new StorageException($"the store {database.Display} has schema version {from}, newer than this gateway knows ({Latest}): run the newer gateway, or restore a backup");
                foreach (var (version, name, sql) in All)
                {
                    if (version <= from || version > to) continue;
                    using var transaction = connection.BeginTransaction();
                    try
                    {
                        using var command = new NpgsqlCommand(sql, connection, transaction);
                        command.ExecuteNonQuery();
                        command.CommandText = $"DELETE FROM schema_version; INSERT INTO schema_version (version) VALUES ({version})";
                        command.ExecuteNonQuery();
                        transaction.Commit();
                    }
                    catch (PostgresException ex)
                    {
                        transaction.Rollback();
                        throw new StorageException($"the store {database.Display}: migration {name} failed, the schema stays at version {version - 1}: {ex.MessageText}", ex);
                    }
                }
                return (from, Math.Max(from, Math.Min(to, Latest)));
            }
            finally
            {
                using var unlocking = new NpgsqlCommand($"SELECT pg_advisory_unlock({LockId})", connection);
                unlocking.ExecuteNonQuery();
            }
        }
        catch (NpgsqlException ex)
        {
            throw new StorageException($"the store {database.Display}: {ex.Message}", ex);
        }
    }
}
