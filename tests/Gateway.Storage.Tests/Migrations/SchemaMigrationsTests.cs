using Gateway.Storage.Migrations;
using Gateway.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Gateway.Storage.Tests.Migrations;

/// <summary>Against a real SQLite file in a throwaway folder: the schema comes up, stays up, and refuses what it does not know.</summary>
public sealed class SchemaMigrationsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gw-store-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private SqliteDatabase Database(string name = "gateway.db") => new(new StorageLocation(Path.Combine(_dir, "nested", name)));

    private static List<string> Tables(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name";
        using var reader = command.ExecuteReader();
        var names = new List<string>();
        while (reader.Read()) names.Add(reader.GetString(0));
        return names;
    }

    private static string Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToString(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture)!;
    }

    [Fact]
    public void EmptyFile_ComesUpToTheLatestVersion_InAFolderMadeForIt()
    {
        var database = Database();
        Assert.Equal((0, SchemaMigrations.Latest), SchemaMigrations.Apply(database));
        using var connection = database.Open();
        Assert.Equal(SchemaMigrations.Latest, SchemaMigrations.CurrentVersion(connection));
        Assert.Equal(["audit_log", "budget_spend", "keys", "latency_hourly", "meta", "provider_secrets", "request_log", "response_cache", "teams", "tenants", "usage_daily", "usage_hourly"], Tables(connection));
        Assert.Equal("wal", Scalar(connection, "PRAGMA journal_mode"));
        Assert.Equal("1", Scalar(connection, "PRAGMA foreign_keys"));
    }

    [Fact]
    public void SecondStart_ChangesNothing_AndKeepsTheData()
    {
        var database = Database();
        SchemaMigrations.Apply(database);
        using (var connection = database.Open())
        {
            using var insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO tenants (id, name, created_at, updated_at) VALUES ('acme', 'Acme', 1, 1)";
            insert.ExecuteNonQuery();
        }
        Assert.Equal((SchemaMigrations.Latest, SchemaMigrations.Latest), SchemaMigrations.Apply(Database()));
        using var reopened = Database().Open();
        Assert.Equal("Acme", Scalar(reopened, "SELECT name FROM tenants WHERE id = 'acme'"));
    }

    [Fact]
    public void EachMigration_AppliesOnTopOfThePreviousVersion()
    {
        for (int version = 1; version <= SchemaMigrations.Latest; version++)
        {
            var database = Database($"v{version}.db");
            if (version > 1) Assert.Equal((0, version - 1), SchemaMigrations.Apply(database, version - 1));
            Assert.Equal((version - 1, version), SchemaMigrations.Apply(database, version));
        }
    }

    [Fact]
    public void Version2_OnAVersion1FileWithData_KeepsTheRows_AndStartsTheDirectoryVersion()
    {
        var database = Database();
        SchemaMigrations.Apply(database, 1);
        using (var v1 = database.Open())
        using (var insert = v1.CreateCommand())
        {
            insert.CommandText = "INSERT INTO tenants (id, name, created_at, updated_at) VALUES ('acme', 'Acme', 1, 1);"
                + "INSERT INTO keys (id, name, hash, prefix, tenant, created_at, updated_at) VALUES ('k1', 'one', x'00', 'gw-1', 'acme', 1, 1);";
            insert.ExecuteNonQuery();
        }
        Assert.Equal((1, 2), SchemaMigrations.Apply(database, 2));
        using var v2 = database.Open();
        Assert.Equal("acme", Scalar(v2, "SELECT tenant FROM keys WHERE id = 'k1'"));
        Assert.Equal("1", Scalar(v2, "SELECT value FROM meta WHERE name = 'directory_version'"));
        Assert.Equal("request_log_model_time", Scalar(v2, "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'request_log_model_time'"));
    }

    [Fact]
    public void Version3_RollsUpTheRequestLogItFinds_IntoHourlyCountsAndLatencyBuckets()
    {
        var database = Database();
        SchemaMigrations.Apply(database, 2);
        const string columns = "request_id, time, key_id, dialect, model, provider, provider_model, attempts, stream, status, outcome, input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost_nanos, duration_ms, upstream_ms";
        using (var v2 = database.Open())
        using (var insert = v2.CreateCommand())
        {
            insert.CommandText = $"""
                INSERT INTO request_log ({columns}) VALUES ('a', 7200000, 'k1', 'chat', 'gpt', 'mock', 'echo', 1, 0, 200, 'Answered', 10, 5, 0, 0, 100, 1.0, 0.5);
                INSERT INTO request_log ({columns}) VALUES ('b', 7300000, 'k1', 'chat', 'gpt', 'mock', 'echo', 1, 0, 502, 'ProviderError', 0, 0, 0, 0, 0, 250.0, 240);
                INSERT INTO request_log ({columns}) VALUES ('c', 7400000, NULL, 'chat', NULL, NULL, NULL, 0, 0, 401, 'Unauthorized', 0, 0, 0, 0, 0, 0.05, 0);
                """;
            insert.ExecuteNonQuery();
        }
        Assert.Equal((2, 3), SchemaMigrations.Apply(database, 3));
        using var v3 = database.Open();
        Assert.Equal("2|1|15|100|251", Scalar(v3, "SELECT requests || '|' || errors || '|' || (input_tokens + output_tokens) || '|' || cost_nanos || '|' || CAST(duration_ms_sum AS INTEGER) FROM usage_hourly WHERE key_id = 'k1' AND deployment = 'mock/echo' AND hour = 7200000"));
        Assert.Equal("1|1", Scalar(v3, "SELECT requests || '|' || errors FROM usage_hourly WHERE key_id = '' AND model = '' AND deployment = ''"));
        // Each duration sits in the bucket the C# side would give it, so old and new rows merge.
        foreach (double ms in new[] { 1.0, 250.0, 0.05 })
            Assert.Equal("1", Scalar(v3, $"SELECT sum(count) FROM latency_hourly WHERE bucket = {Gateway.Core.Analytics.LatencyBuckets.Of(ms)}"));
    }

    [Fact]
    public void ANewerDatabase_IsRefusedWithItsVersion_NotMisread()
    {
        var database = Database();
        SchemaMigrations.Apply(database);
        using (var connection = database.Open())
        {
            using var bump = connection.CreateCommand();
            bump.CommandText = $"PRAGMA user_version = {SchemaMigrations.Latest + 5}";
            bump.ExecuteNonQuery();
        }
        var error = Assert.Throws<StorageException>(() => SchemaMigrations.Apply(database));
        Assert.Contains($"schema version {SchemaMigrations.Latest + 5}, newer than this gateway knows ({SchemaMigrations.Latest})", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ForeignKeys_AreEnforced()
    {
        var database = Database();
        SchemaMigrations.Apply(database);
        using var connection = database.Open();
        using var insert = connection.CreateCommand();
        insert.CommandText = "INSERT INTO teams (id, tenant, name, created_at, updated_at) VALUES ('t', 'no-such-tenant', 'T', 1, 1)";
        Assert.Throws<SqliteException>(() => insert.ExecuteNonQuery());
    }

    [Fact]
    public void AFolderThatCannotBeMade_IsOneClearError()
    {
        string file = Path.Combine(_dir, "plain-file");
        File.WriteAllText(file, "x");
        var error = Assert.Throws<StorageException>(() => new SqliteDatabase(new StorageLocation(Path.Combine(file, "gateway.db"))).Open());
        Assert.StartsWith($"cannot open the store {Path.Combine(file, "gateway.db")}", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "/srv/data/gateway.db")]
    [InlineData("", "/srv/data/gateway.db")]
    [InlineData("sqlite:/var/lib/gw/store.db", "/var/lib/gw/store.db")]
    [InlineData("SQLITE:/var/lib/gw/store.db", "/var/lib/gw/store.db")]
    public void Location_FromTheSetting(string? setting, string expected) =>
        Assert.Equal(expected, StorageLocation.Parse(setting, "/srv/data").Location?.SqlitePath);

    [Theory]
    [InlineData("mysql://user:secret@db/gw", "storage.database: 'mysql:...' is not supported")]
    [InlineData("sqlite:", "storage.database: \"sqlite:\" needs a file path")]
    [InlineData("postgres://user:secret@db", "storage.database: the PostgreSQL URL names no database")]
    [InlineData("postgres://user:secret@db/gw?sslmode=sometimes", "storage.database: the PostgreSQL URL's option 'sslmode=sometimes'")]
    [InlineData("postgres://user:secret@db/gw?pool_max=0", "storage.database: the PostgreSQL URL's option 'pool_max=0'")]
    public void Location_Refused_WithoutShowingASecret(string setting, string expected)
    {
        var (location, error) = StorageLocation.Parse(setting, "/srv/data");
        Assert.Null(location);
        Assert.StartsWith(expected, error, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", error, StringComparison.Ordinal);
    }

    [Fact]
    public void PostgresUrl_BecomesAConnectionString_WithItsOptions_AndHidesThePasswordWhenShown()
    {
        var (location, error) = StorageLocation.Parse("postgresql://gw%40corp:p%3Ass@10.0.0.5:6432/gate%20way?sslmode=require&pool_max=8&timeout=9", "/srv/data");
        Assert.Null(error);
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(location!.PostgresConnectionString);
        Assert.Equal(("10.0.0.5", 6432, "gate way", "gw@corp", "p:ss"), (builder.Host, builder.Port, builder.Database, builder.Username, builder.Password));
        Assert.Equal((Npgsql.SslMode.Require, 8, 9), (builder.SslMode, builder.MaxPoolSize, builder.Timeout));
        Assert.True(location.IsPostgres);
        Assert.DoesNotContain("p:ss", location.ToString(), StringComparison.Ordinal);
        Assert.Equal(5432, new Npgsql.NpgsqlConnectionStringBuilder(StorageLocation.Parse("postgres://u@db/gw", "/").Location!.PostgresConnectionString).Port);
    }

    [Fact]
    public void PostgresMigrations_BringTheSameVersions_AsSqlite() =>
        Assert.Equal(SchemaMigrations.All.Select(m => (m.Version, m.Name)), Gateway.Storage.Postgres.PostgresMigrations.All.Select(m => (m.Version, m.Name)));
}
