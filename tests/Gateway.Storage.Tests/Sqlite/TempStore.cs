using Gateway.Storage.Migrations;
using Gateway.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Gateway.Storage.Tests.Sqlite;

/// <summary>A migrated SQLite store in a throwaway folder, with its governance store and request log writer; deleted on dispose.</summary>
internal sealed class TempStore : IDisposable
{
    private readonly string _dir;

    public TempStore(string prefix)
    {
        _dir = Directory.CreateTempSubdirectory(prefix).FullName;
        var database = Database = new SqliteDatabase(new StorageLocation(Path.Combine(_dir, "gateway.db")));
        SchemaMigrations.Apply(database);
        Governance = new SqliteGovernanceStore(database);
        Log = new RequestLogStore(database);
    }

    public SqliteDatabase Database { get; }
    public SqliteGovernanceStore Governance { get; }
    public RequestLogStore Log { get; }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }
}
