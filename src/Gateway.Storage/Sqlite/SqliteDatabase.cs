using Microsoft.Data.Sqlite;

namespace Gateway.Storage.Sqlite;

/// <summary>
/// Opens connections to the gateway's SQLite file with the settings every connection needs: WAL (readers
/// never wait for the writer), foreign keys on, a busy wait instead of an immediate "database is locked".
/// </summary>
public sealed class SqliteDatabase
{
    private static readonly Lock ProviderGate = new();
    private static bool _providerSet;
    private readonly string _connectionString;

    public SqliteDatabase(StorageLocation location)
    {
        Path = location.SqlitePath ?? throw new ArgumentException("not a SQLite store", nameof(location));
        EnsureProvider();
        _connectionString = new SqliteConnectionStringBuilder { DataSource = Path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true }.ToString();
    }

    public string Path { get; }

    /// <summary>
    /// SQLitePCLRaw's plain "sqlite3" provider: the native binary calls the statically linked library
    /// directly (DirectPInvoke), the JIT-run gateway and the tests load the system's libsqlite3.
    /// </summary>
    private static void EnsureProvider()
    {
        lock (ProviderGate)
        {
            if (_providerSet) return;
            SQLitePCL.raw.SetProvider(new SQLitePCL.SQLite3Provider_sqlite3());
            _providerSet = true;
        }
    }

    /// <summary>An open connection (the caller disposes it); the folder is made when it does not exist yet.</summary>
    /// <exception cref="StorageException">The file cannot be opened or created.</exception>
    public SqliteConnection Open()
    {
        try
        {
            if (System.IO.Path.GetDirectoryName(Path) is { Length: > 0 } folder) Directory.CreateDirectory(folder);
            var connection = new SqliteConnection(_connectionString);
            connection.Open();
            using var pragmas = connection.CreateCommand();
            pragmas.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;";
            pragmas.ExecuteNonQuery();
            return connection;
        }
        catch (Exception ex) when (ex is SqliteException or IOException or UnauthorizedAccessException)
        {
            throw new StorageException($"cannot open the store {Path}: {ex.Message}", ex);
        }
    }

    /// <summary>The SQLite library in use (the linked one in the native binary).</summary>
    public static string LibraryVersion
    {
        get
        {
            EnsureProvider();
            return SQLitePCL.raw.sqlite3_libversion().utf8_to_string();
        }
    }
}
