using Gateway.Storage.Postgres;

namespace Gateway.Storage;

/// <summary>
/// Where the store lives, from <c>storage.database</c> (or <c>GATEWAY_DATABASE_URL</c>): <c>sqlite:PATH</c> (a
/// relative path starts where the gateway was started); unset, <c>gateway.db</c> in the data folder; a
/// <c>postgres://</c> URL, a PostgreSQL database replicas share; <c>none</c>, nowhere.
/// </summary>
public sealed record StorageLocation
{
    public const string SqliteScheme = "sqlite:";

    /// <summary><c>storage.database: "none"</c>: a gateway without a store (no usage or request logs); nothing is written to disk.</summary>
    public const string None = "none";

    public StorageLocation(string sqlitePath) => SqlitePath = sqlitePath;

    private StorageLocation(string? sqlitePath, string? postgres)
    {
        SqlitePath = sqlitePath;
        PostgresConnectionString = postgres;
    }

    /// <summary>The SQLite file, for a SQLite store.</summary>
    public string? SqlitePath { get; }

    /// <summary>The Npgsql connection string, for a PostgreSQL store.</summary>
    public string? PostgresConnectionString { get; }

    public bool IsPostgres => PostgresConnectionString is not null;

    public static StorageLocation Postgres(string connectionString) => new(null, connectionString);

    /// <returns>The location (null for <see cref="None"/>), or the reason the setting is not one the gateway can use.</returns>
    public static (StorageLocation? Location, string? Error) Parse(string? database, string dataDir)
    {
        if (string.Equals(database, None, StringComparison.OrdinalIgnoreCase)) return (null, null);
        if (string.IsNullOrWhiteSpace(database)) return (new StorageLocation(Path.GetFullPath(Path.Combine(dataDir, "gateway.db"))), null);
        if (database.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || database.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            var (connectionString, error) = PostgresDatabase.FromUrl(database);
            return connectionString is null ? (null, error) : (Postgres(connectionString), null);
        }
        if (!database.StartsWith(SqliteScheme, StringComparison.OrdinalIgnoreCase))
            return (null, $"storage.database: '{Redact(database)}' is not supported; use \"sqlite:PATH\" or \"postgres://user:password@host:port/database\"");
        string path = database[SqliteScheme.Length..];
        if (path.Length == 0) return (null, "storage.database: \"sqlite:\" needs a file path, e.g. \"sqlite:./data/gateway.db\"");
        return (new StorageLocation(Path.GetFullPath(path)), null);
    }

    /// <summary>Where the store is, never its password (a location ends up in logs and error messages).</summary>
    public override string ToString() => SqlitePath is not null ? "sqlite:" + SqlitePath
        : new Npgsql.NpgsqlConnectionStringBuilder(PostgresConnectionString) is var b ? $"postgres://{b.Host}:{b.Port}/{b.Database}" : "";

    // A connection string may carry a password: only its scheme is shown.
    private static string Redact(string database) => database.IndexOf(':') is > 0 and var colon ? database[..colon] + ":..." : "...";
}
