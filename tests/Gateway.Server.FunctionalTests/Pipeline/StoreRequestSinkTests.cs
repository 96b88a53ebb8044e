using System.Net;
using Gateway.Core.Governance;
using Gateway.Server.FunctionalTests.Infrastructure;
using Gateway.Server.Pipeline;
using Gateway.Storage;
using Gateway.Storage.Migrations;
using Gateway.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Pipeline;

/// <summary>Request records reach a real SQLite file without the request waiting; a full queue drops and counts.</summary>
public sealed class StoreRequestSinkTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gw-sink-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private static long Scalar(SqliteDatabase database, string sql)
    {
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static RequestRecord Record(int i) => new()
    {
        RequestId = $"r{i}", Method = "POST", Path = "/v1/chat/completions", Dialect = "chat", KeyId = "k", Model = "fast",
        Provider = "openai", ProviderModel = "gpt-4o-mini", Attempts = 1, Status = 200, Outcome = RequestOutcome.Answered,
        Total = TimeSpan.FromMilliseconds(10), Upstream = TimeSpan.FromMilliseconds(8), Usage = new Gateway.Core.Sse.TokenUsage(10, 5, 15, 0, 0),
    };

    [Fact]
    public async Task GatewayRequests_LandInTheRequestLogAndTheDailyUsage_AndSurviveARestart()
    {
        string dataDir = Path.Combine(_dir, "data");
        await using (var gateway = await StartAsync(dataDir: dataDir))
        {
            for (int i = 0; i < 3; i++)
                using (var ok = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("mock/echo", $"row {i}")))) Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            using (var bad = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("nope/x", "x")))) Assert.Equal(HttpStatusCode.NotFound, bad.StatusCode);
            // A client's own request id need not be unique: both requests are kept.
            for (int i = 0; i < 2; i++)
            {
                var same = Post("/v1/chat/completions", Chat("mock/echo", "same id"));
                same.Headers.Add("x-request-id", "client-id-7");
                using var ok = await gateway.Client.SendAsync(same);
            }
        } // stopping writes what is still queued
        var database = new SqliteDatabase(new StorageLocation(Path.Combine(dataDir, "gateway.db")));
        Assert.Equal(6, Scalar(database, "SELECT count(*) FROM request_log"));
        Assert.Equal(2, Scalar(database, "SELECT count(*) FROM request_log WHERE request_id = 'client-id-7'"));
        Assert.Equal(1, Scalar(database, "SELECT count(*) FROM request_log WHERE status = 404 AND outcome = 'Invalid' AND provider IS NULL"));
        Assert.Equal(5, Scalar(database, "SELECT requests FROM usage_daily WHERE key_id = 'master' AND model = 'mock/echo'"));
        Assert.True(Scalar(database, "SELECT input_tokens FROM usage_daily WHERE model = 'mock/echo'") > 0);

        await using (var again = await StartAsync(dataDir: dataDir))
            using (var ok = await again.Client.SendAsync(Post("/v1/chat/completions", Chat("mock/echo", "after restart")))) Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(7, Scalar(database, "SELECT count(*) FROM request_log"));
        Assert.Equal(6, Scalar(database, "SELECT requests FROM usage_daily WHERE model = 'mock/echo'"));
    }

    [Fact]
    public async Task ARequestEndingDuringShutdown_IsStillWritten()
    {
        string dataDir = Path.Combine(_dir, "data");
        var gateway = await StartAsync(dataDir: dataDir, configPath: Path.Combine(_dir, "gateway.json"), configJson: """{ "providers": { "mock": { "type": "mock", "chunks": 8, "chunkDelayMs": 150 } } }""");
        var slow = gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("mock/echo", "one two three four five six seven eight", stream: true)),
            HttpCompletionOption.ResponseHeadersRead);
        using (var response = await slow)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var stopping = gateway.DisposeAsync().AsTask(); // the stream is still running: about a second to go
            Assert.Contains("[DONE]", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            await stopping;
        }
        var database = new SqliteDatabase(new StorageLocation(Path.Combine(dataDir, "gateway.db")));
        Assert.Equal(1, Scalar(database, "SELECT count(*) FROM request_log WHERE stream = 1 AND outcome = 'Answered'"));
    }

    /// <summary>The store, recording the nice value of the thread each batch was written on.</summary>
    private sealed class NiceRecordingStore(IRequestLogStore inner) : IRequestLogStore
    {
        public List<(int Rows, int Nice)> Writes { get; } = [];

        public void Write(IReadOnlyList<RequestLogRow> rows)
        {
            lock (Writes) Writes.Add((rows.Count, Hosting.LowPriorityThreadTests.CurrentNice()));
            inner.Write(rows);
        }

        public int DeleteOlderThan(long before) => inner.DeleteOlderThan(before);
    }

    [Fact]
    public async Task Rows_AreWrittenAtALowerPriority_UnlessABacklogMustBeCaughtUp()
    {
        var database = new SqliteDatabase(new StorageLocation(Path.Combine(_dir, "nice.db")));
        SchemaMigrations.Apply(database);
        var store = new NiceRecordingStore(new RequestLogStore(database));
        // A queue of 1,000: past 125 rows waiting, a batch is written at the requests' priority.
        var sink = new StoreRequestSink(store, TimeProvider.System, TimeSpan.Zero, NullLogger<StoreRequestSink>.Instance, 1000);
        for (int i = 0; i < 800; i++) sink.Write(Record(i));
        await sink.StartAsync(CancellationToken.None);
        for (int i = 0; i < 200 && sink.Written < 800; i++) await Task.Delay(25);
        for (int i = 800; i < 810; i++) sink.Write(Record(i));
        for (int i = 0; i < 200 && sink.Written < 810; i++) await Task.Delay(25);
        await sink.StopAsync(CancellationToken.None);
        sink.Dispose();
        // 512 taken with 288 still waiting: caught up at normal priority; then 288, then the 10 that came later, at nice 10.
        int normal = Hosting.LowPriorityThreadTests.CurrentNice();
        Assert.Equal([(512, normal), (288, StoreRequestSink.WriterNice), (10, StoreRequestSink.WriterNice)], store.Writes);
        Assert.Equal(810, Scalar(database, "SELECT count(*) FROM request_log"));
    }

    [Theory]
    [InlineData(50, 100, 50, 0)]     // below the bound: every row
    [InlineData(1000, 100, 100, 900)] // a burst past it: the queue's worth written, the rest dropped and counted
    public async Task ABurst_NoRowLostBelowTheBound_DropsCountedAboveIt(int rows, int capacity, long written, long dropped)
    {
        var database = new SqliteDatabase(new StorageLocation(Path.Combine(_dir, $"burst-{rows}.db")));
        SchemaMigrations.Apply(database);
        var sink = new StoreRequestSink(new RequestLogStore(database), TimeProvider.System, TimeSpan.Zero, NullLogger<StoreRequestSink>.Instance, capacity);
        // The burst arrives before the writer runs: nothing waits, the queue takes what it can hold.
        for (int i = 0; i < rows; i++) sink.Write(Record(i));
        Assert.Equal(dropped, sink.Dropped);
        await sink.StartAsync(CancellationToken.None);
        for (int i = 0; i < 200 && sink.Written < written; i++) await Task.Delay(25);
        await sink.StopAsync(CancellationToken.None);
        Assert.Equal((written, dropped), (sink.Written, sink.Dropped));
        Assert.Equal(written, Scalar(database, "SELECT count(*) FROM request_log"));
        Assert.Equal(written, Scalar(database, "SELECT requests FROM usage_daily"));
        Assert.Equal(written * 15, Scalar(database, "SELECT input_tokens + output_tokens FROM usage_daily"));
    }
}
