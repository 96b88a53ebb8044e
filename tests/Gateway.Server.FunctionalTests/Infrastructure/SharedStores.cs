using Gateway.Tests.Shared;

namespace Gateway.Server.FunctionalTests.Infrastructure;

/// <summary>Which stores a gateway under test runs on: its own SQLite file, or PostgreSQL and Redis as replicas share them.</summary>
public enum StoreEngine { Sqlite, Shared }

/// <summary>
/// A throwaway PostgreSQL database on the test server, and the Redis URL: the environment that makes a gateway
/// (or several, as replicas) run on them. The database is dropped on dispose.
/// </summary>
public sealed class SharedStores : IDisposable
{
    private readonly string _database = TestServers.CreateDatabase("gwf_");

    public SharedStores(string? redisUrl = null) => RedisUrl = redisUrl ?? TestServers.RedisUrl;

    public string DatabaseUrl => TestServers.PostgresUrlFor(_database);
    public string RedisUrl { get; }

    /// <summary><paramref name="env"/> (or a new one) with the database and Redis URLs.</summary>
    public Dictionary<string, string> With(Dictionary<string, string>? env)
    {
        var merged = new Dictionary<string, string>(env ?? []) { ["GATEWAY_DATABASE_URL"] = DatabaseUrl, ["GATEWAY_REDIS_URL"] = RedisUrl };
        return merged;
    }

    public void Dispose() => TestServers.DropDatabase(_database);
}
