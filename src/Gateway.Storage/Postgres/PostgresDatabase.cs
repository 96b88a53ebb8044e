using System.Data.Common;
using Npgsql;

namespace Gateway.Storage.Postgres;

/// <summary>
/// The pooled connections to a PostgreSQL store (<c>storage.database: "postgres://user:password@host:port/db"</c>).
/// Npgsql's slim data source: only the type handlers the store uses, so the native binary stays small and
/// trim-safe. Connections are taken per operation and go back to the pool when disposed.
/// </summary>
public sealed class PostgresDatabase : IDisposable
{
    private readonly NpgsqlDataSource _source;

    public PostgresDatabase(string connectionString)
    {
        ConnectionString = connectionString;
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        Display = $"postgres://{builder.Host}:{builder.Port}/{builder.Database}";
        // Arrays: batches are written as unnest($1::bigint[], ...) (one statement, any number of rows).
        _source = new NpgsqlSlimDataSourceBuilder(connectionString).EnableArrays().Build();
    }

    public string ConnectionString { get; }

    /// <summary>Where the store is, without its credentials (for logs and errors).</summary>
    public string Display { get; }

    /// <summary>An open connection (the caller disposes it).</summary>
    /// <exception cref="StorageException">The server cannot be reached or refuses the login.</exception>
    public NpgsqlConnection Open()
    {
        try
        {
            return _source.OpenConnection();
        }
        catch (Exception ex) when (ex is DbException or System.Net.Sockets.SocketException or TimeoutException or IOException)
        {
            throw new StorageException($"cannot reach the store {Display}: {ex.Message}", ex);
        }
    }

    /// <summary>An open connection, without blocking a thread while it is made.</summary>
    /// <exception cref="StorageException">The server cannot be reached or refuses the login.</exception>
    public async ValueTask<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is DbException or System.Net.Sockets.SocketException or TimeoutException or IOException)
        {
            throw new StorageException($"cannot reach the store {Display}: {ex.Message}", ex);
        }
    }

    public void Dispose() => _source.Dispose();

    /// <summary>
    /// A failure as the store's own exception. One below SQL (the connection broke: a server restarted or went
    /// away) also empties the pool: its idle connections are as dead, and each would fail once more before
    /// the pool renewed it, stretching a recovery over as many retries.
    /// </summary>
    public StorageException Failed(Exception ex)
    {
        if (ex is StorageException storage) return storage;
        if (ex is not PostgresException) _source.Clear();
        return new StorageException($"the store {Display}: {ex.Message}", ex);
    }

    /// <summary>
    /// A <c>postgres://</c> or <c>postgresql://</c> URL (libpq's form) as an Npgsql connection string. Query
    /// options: <c>sslmode</c>, <c>pool_max</c> (connections per gateway, 32 by default: replicas times this
    /// must stay under the server's <c>max_connections</c>), <c>timeout</c> (seconds to connect).
    /// </summary>
    /// <returns>The connection string, or the reason the URL is not usable.</returns>
    public static (string? ConnectionString, string? Error) FromUrl(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("postgres" or "postgresql") || string.IsNullOrEmpty(uri.Host))
            return (null, "storage.database: a PostgreSQL URL is postgres://user:password@host:port/database");
        string database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length == 0 || database.Contains('/')) return (null, "storage.database: the PostgreSQL URL names no database (postgres://user:password@host:port/database)");
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host.Trim('[', ']'),
            Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port,
            Database = database,
            MaxPoolSize = 32,
            Timeout = 5,
            // A statement that hangs (a lock, a dying server) must not hold a request or a writer forever.
            CommandTimeout = 30,
            // Never leak a pooled connection's session state (a prepared statement, a setting) to the next user.
            NoResetOnClose = false,
        };
        if (uri.UserInfo.Length > 0)
        {
            int colon = uri.UserInfo.IndexOf(':');
            builder.Username = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            if (colon >= 0) builder.Password = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
        }
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=');
            string name = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]), value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            switch (name)
            {
                case "sslmode" when Enum.TryParse<SslMode>(value.Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out var mode):
                    builder.SslMode = mode;
                    break;
                case "pool_max" when int.TryParse(value, out int max) && max is > 0 and <= 1000:
                    builder.MaxPoolSize = max;
                    break;
                case "timeout" when int.TryParse(value, out int seconds) && seconds is > 0 and <= 300:
                    builder.Timeout = seconds;
                    break;
                default:
                    return (null, $"storage.database: the PostgreSQL URL's option '{name}={value}' is not one the gateway reads (sslmode, pool_max 1-1000, timeout 1-300 s)");
            }
        }
        return (builder.ConnectionString, null);
    }
}
