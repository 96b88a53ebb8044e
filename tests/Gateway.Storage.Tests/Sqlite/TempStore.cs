using Gateway.Core.Governance;
using Gateway.Storage.Postgres;
using Gateway.Storage.Sqlite;
using Gateway.Tests.Shared;
using Microsoft.Data.Sqlite;

namespace Gateway.Storage.Tests.Sqlite;

/// <summary>The store engines every store test runs on: the same test, SQLite and PostgreSQL.</summary>
public enum StoreEngine { Sqlite, Postgres }

/// <summary>
/// A migrated store of either engine with its governance store and request log writer, deleted on dispose:
/// SQLite in a throwaway folder, or a throwaway database on the test PostgreSQL server.
/// </summary>
internal sealed class TempStore : IDisposable
{
    private readonly string? _dir;
    private readonly string? _pgDatabase;
    private readonly GatewayStore _store;

    public TempStore(string prefix, StoreEngine engine = StoreEngine.Sqlite)
    {
        if (engine == StoreEngine.Postgres)
        {
            _pgDatabase = TestServers.CreateDatabase("gwt_" + prefix.Trim('-').Replace('-', '_'));
            _store = GatewayStore.Open(StorageLocation.Postgres(PostgresDatabase.FromUrl(TestServers.PostgresUrlFor(_pgDatabase)).ConnectionString!), ledger: true).Store;
        }
        else
        {
            _dir = Directory.CreateTempSubdirectory(prefix).FullName;
            _store = GatewayStore.Open(new StorageLocation(Path.Combine(_dir, "gateway.db")), ledger: false).Store;
        }
    }

    public SqliteDatabase Database => _store.Sqlite ?? throw new InvalidOperationException("not a SQLite store");
    public GatewayStore Store => _store;
    public IGovernanceStore Governance => _store.Governance;
    public IRequestLogStore Log => _store.RequestLog;

    public void Dispose()
    {
        _store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        if (_dir is not null)
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(_dir, recursive: true);
            return;
        }
        TestServers.DropDatabase(_pgDatabase!);
    }
}
