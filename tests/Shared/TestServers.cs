using System.Diagnostics;

namespace Gateway.Tests.Shared;

/// <summary>
/// The real PostgreSQL and Redis servers the store tests run against: the ones tests/run.sh started
/// (GATEWAY_TEST_POSTGRES_URL, GATEWAY_TEST_REDIS_URL), else a pair this test process starts itself with
/// tests/servers.sh (throwaway data dirs, loopback ports) and stops when it exits. Never mocked: a machine
/// that can run neither fails these tests with the reason.
/// </summary>
internal static class TestServers
{
    private static readonly Lazy<(string Postgres, string Redis)> Urls = new(Start, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>A superuser URL of the test PostgreSQL server, on its <c>postgres</c> database.</summary>
    public static string PostgresUrl => Urls.Value.Postgres;

    /// <summary><c>redis://127.0.0.1:PORT</c> of the test Redis server.</summary>
    public static string RedisUrl => Urls.Value.Redis;

    /// <summary><see cref="PostgresUrl"/> with another database name.</summary>
    public static string PostgresUrlFor(string database) => PostgresUrl[..(PostgresUrl.LastIndexOf('/') + 1)] + database;

    /// <summary>A new, empty database on the test server, named from <paramref name="prefix"/> and a random part.</summary>
    public static string CreateDatabase(string prefix)
    {
        string name = prefix + Guid.NewGuid().ToString("N")[..16];
        Admin($"CREATE DATABASE {name}");
        return name;
    }

    /// <summary>Drops a database <see cref="CreateDatabase"/> made, whoever is still connected to it.</summary>
    public static void DropDatabase(string name)
    {
        Npgsql.NpgsqlConnection.ClearAllPools();
        Admin($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    }

    private static void Admin(string sql)
    {
        using var admin = new Npgsql.NpgsqlConnection(Gateway.Storage.Postgres.PostgresDatabase.FromUrl(PostgresUrl).ConnectionString);
        admin.Open();
        using var command = new Npgsql.NpgsqlCommand(sql, admin);
        command.ExecuteNonQuery();
    }

    /// <summary>tests/servers.sh, found above the test binaries.</summary>
    public static string Script
    {
        get
        {
            string root = AppContext.BaseDirectory;
            while (!File.Exists(Path.Combine(root, "Gateway.sln"))) root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("the repository root (Gateway.sln) is not above the tests");
            return Path.Combine(root, "tests", "servers.sh");
        }
    }

    private static (string, string) Start()
    {
        string? pg = Environment.GetEnvironmentVariable("GATEWAY_TEST_POSTGRES_URL"), redis = Environment.GetEnvironmentVariable("GATEWAY_TEST_REDIS_URL");
        if (!string.IsNullOrEmpty(pg) && !string.IsNullOrEmpty(redis)) return (pg, redis);
        string dir = Directory.CreateTempSubdirectory("gw-test-servers-").FullName;
        string script = Script;
        var (code, output) = Bash($"'{script}' start '{dir}'");
        if (code != 0) throw new InvalidOperationException($"tests/servers.sh could not start PostgreSQL and Redis: {output.Trim()}");
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            Bash($"'{script}' stop '{dir}'");
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
        string Value(string name) => output.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries).First(p => p.StartsWith(name + "=", StringComparison.Ordinal))[(name.Length + 1)..];
        return (Value("GATEWAY_TEST_POSTGRES_URL"), Value("GATEWAY_TEST_REDIS_URL"));
    }

    internal static (int Code, string Output) Bash(string command)
    {
        var start = new ProcessStartInfo("bash", ["-c", command]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        // The servers it starts inherit these pipes: read to the script's own end only, not to EOF.
        var stdout = process.StandardOutput.ReadLineAsync();
        var stderr = process.StandardError.ReadLineAsync();
        process.WaitForExit();
        string text = (stdout.Wait(TimeSpan.FromSeconds(5)) ? stdout.Result : "") + "\n" + (stderr.Wait(TimeSpan.FromMilliseconds(100)) ? stderr.Result : "");
        return (process.ExitCode, text ?? "");
    }
}

/// <summary>A Redis server of a test's own (to stop and start again: Redis going away mid-test), on a free loopback port.</summary>
internal sealed class PrivateRedis : IDisposable
{
    private Process? _process;

    public PrivateRedis()
    {
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        Port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Start();
    }

    public int Port { get; }
    public string Url => $"redis://127.0.0.1:{Port}";

    public void Start()
    {
        _ = TestServers.RedisUrl; // the shared servers' start installs redis-server when it is missing
        _process = Process.Start(new ProcessStartInfo("redis-server", ["--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no"]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        for (int i = 0; i < 100; i++)
        {
            try
            {
                using var client = new System.Net.Sockets.TcpClient();
                client.Connect(System.Net.IPAddress.Loopback, Port);
                return;
            }
            catch (System.Net.Sockets.SocketException)
            {
                Thread.Sleep(50);
            }
        }
        throw new InvalidOperationException($"redis-server did not listen on {Port}");
    }

    /// <summary>Redis hangs (SIGSTOP): connections stay open, nothing answers - a slow store, not a dead one.</summary>
    public void Pause() => Process.Start("kill", ["-STOP", _process!.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();

    public void Resume() => Process.Start("kill", ["-CONT", _process!.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();

    public void Stop()
    {
        if (_process is null) return;
        _process.Kill();
        _process.WaitForExit();
        _process.Dispose();
        _process = null;
    }

    public void Dispose() => Stop();
}

/// <summary>A PostgreSQL and Redis pair of a test's own (tests/servers.sh), whose PostgreSQL can be stopped and started again.</summary>
internal sealed class PrivateServers : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gw-private-servers-").FullName;

    public PrivateServers()
    {
        _ = TestServers.RedisUrl; // installs what is missing, once
        var (code, output) = TestServers.Bash($"'{TestServers.Script}' start '{_dir}'");
        if (code != 0) throw new InvalidOperationException($"tests/servers.sh could not start a private PostgreSQL: {output.Trim()}");
        string Value(string name) => output.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries).First(p => p.StartsWith(name + "=", StringComparison.Ordinal))[(name.Length + 1)..];
        PostgresUrl = Value("GATEWAY_TEST_POSTGRES_URL");
        RedisUrl = Value("GATEWAY_TEST_REDIS_URL");
    }

    /// <summary>The superuser's URL on the <c>postgres</c> database (a gateway may use it as its store).</summary>
    public string PostgresUrl { get; }
    public string RedisUrl { get; }

    public void StopPostgres() => Run("pg-stop");

    public void StartPostgres() => Run("pg-start");

    /// <summary>PostgreSQL hangs (SIGSTOP to its whole process group, the server and every backend): a slow store, not a dead one.</summary>
    public void PausePostgres() => Signal("STOP");

    public void ResumePostgres() => Signal("CONT");

    private void Signal(string signal)
    {
        string pid = File.ReadAllText(Path.Combine(_dir, "pids")).Split(' ')[0].Trim();
        var (code, output) = TestServers.Bash($"kill -{signal} -- -{pid}");
        if (code != 0) throw new InvalidOperationException($"kill -{signal} PostgreSQL's group {pid}: {output.Trim()}");
    }

    private void Run(string verb)
    {
        var (code, output) = TestServers.Bash($"'{TestServers.Script}' {verb} '{_dir}'");
        if (code != 0) throw new InvalidOperationException($"tests/servers.sh {verb}: {output.Trim()}");
    }

    public void Dispose()
    {
        TestServers.Bash($"'{TestServers.Script}' stop '{_dir}'");
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
