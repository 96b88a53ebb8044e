using StackExchange.Redis;

namespace Gateway.Storage.Redis;

/// <summary>
/// The connection to the shared Redis (<c>storage.redis: "redis://[:password@]host:port[/db]"</c>, <c>rediss://</c>
/// for TLS), one multiplexed connection per gateway. It never fails the start: while Redis is away it
/// reconnects in the background and the callers fall back (see each one's behaviour).
/// </summary>
public sealed class RedisConnection : IDisposable
{
    private RedisConnection(ConnectionMultiplexer multiplexer, string display, int database, string cluster)
    {
        Multiplexer = multiplexer;
        Display = display;
        Database = multiplexer.GetDatabase(database);
        Prefix = $"gw:{{{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(cluster)))[..12]}}}:";
    }

    /// <summary>
    /// What this gateway's keys and channels start with: <c>gw:{cluster}:</c>, the cluster being the replicas that share
    /// one database (a hash of where it is), so two gateway deployments on one Redis never count into each other's
    /// limits (pub/sub channels ignore Redis's database numbers). One hash tag for all: an admission touches several
    /// scopes atomically, which a Redis Cluster allows within one slot only.
    /// </summary>
    public string Prefix { get; }

    public ConnectionMultiplexer Multiplexer { get; }
    public IDatabase Database { get; }

    /// <summary>Where it is, without the password.</summary>
    public string Display { get; }

    public bool IsConnected => Multiplexer.IsConnected;

    /// <returns>The options, or the reason the URL is not usable.</returns>
    public static (ConfigurationOptions? Options, int Database, string? Error) Parse(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("redis" or "rediss") || string.IsNullOrEmpty(uri.Host))
            return (null, 0, "storage.redis: a Redis URL is redis://[:password@]host:port[/db] (rediss:// for TLS)");
        var options = new ConfigurationOptions
        {
            AbortOnConnectFail = false,
            ConnectTimeout = 2000,
            // A request waits at most this long on Redis before the caller's fallback takes over.
            SyncTimeout = 1000,
            AsyncTimeout = 1000,
            ConnectRetry = 1,
            ReconnectRetryPolicy = new LinearRetry(500),
            Ssl = uri.Scheme == "rediss",
            ClientName = "gateway",
        };
        options.EndPoints.Add(uri.Host.Trim('[', ']'), uri.IsDefaultPort || uri.Port <= 0 ? 6379 : uri.Port);
        if (uri.UserInfo.Length > 0)
        {
            int colon = uri.UserInfo.IndexOf(':');
            string user = Uri.UnescapeDataString(colon < 0 ? "" : uri.UserInfo[..colon]);
            options.Password = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[(colon + 1)..]);
            if (user.Length > 0) options.User = user;
        }
        int database = 0;
        string path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0 && (!int.TryParse(path, out database) || database is < 0 or > 15))
            return (null, 0, $"storage.redis: '/{path}' is not a database number (0-15)");
        return (options, database, null);
    }

    /// <summary>Connects (or starts trying to, when Redis is not up yet).</summary>
    /// <param name="cluster">What the replicas sharing this Redis have in common (where their database is).</param>
    public static RedisConnection Open(string url, string cluster)
    {
        var (options, database, error) = Parse(url);
        if (options is null) throw new ArgumentException(error);
        var display = $"{(options.Ssl ? "rediss" : "redis")}://{options.EndPoints[0]}/{database}";
        return new RedisConnection(ConnectionMultiplexer.Connect(options), display, database, cluster);
    }

    public void Dispose() => Multiplexer.Dispose();
}
