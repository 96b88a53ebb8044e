using Gateway.Core.Governance;
using Gateway.Server.Pipeline;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Server.FunctionalTests.Hosting;

/// <summary>The request log's writer when its store fails for a while: rows kept and written once it takes them, with no new traffic needed.</summary>
public sealed class StoreRequestSinkTests
{
    /// <summary>A store that refuses its first writes (the database away), then takes them.</summary>
    private sealed class FailingFirst(int failures) : IRequestLogStore
    {
        private int _left = failures;
        public readonly List<RequestLogRow> Rows = [];

        public void Write(IReadOnlyList<RequestLogRow> rows)
        {
            if (Interlocked.Decrement(ref _left) >= 0) throw new Gateway.Storage.StorageException("the store is away");
            lock (Rows) Rows.AddRange(rows);
        }

        public int DeleteOlderThan(long before) => 0;
    }

    private static RequestRecord Record(string id) => new() { RequestId = id, Method = "POST", Path = "/v1/chat/completions", Dialect = "chat", Provider = "mock", Status = 200 };

    [Fact]
    public async Task RowsAFailingStoreRefused_AreWrittenWhenItRecovers_WithoutNewRequestsToWakeTheWriter()
    {
        var store = new FailingFirst(failures: 2);
        var sink = new StoreRequestSink(store, TimeProvider.System, TimeSpan.Zero, NullLogger<StoreRequestSink>.Instance, capacity: 100);
        await sink.StartAsync(CancellationToken.None);
        try
        {
            foreach (var id in new[] { "a", "b", "c" }) sink.Write(Record(id));
            // Two failures: retried after 1 s, then 2 s; nothing else arrives meanwhile.
            for (int i = 0; i < 100 && sink.Written < 3; i++) await Task.Delay(100);
            lock (store.Rows) Assert.Equal(["a", "b", "c"], store.Rows.Select(r => r.Id));
            Assert.Equal(0, sink.Dropped);
        }
        finally
        {
            await sink.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task AStoreThatNeverRecovers_LosesNoRowSilently_EachIsWrittenOrCountedDropped()
    {
        var store = new FailingFirst(failures: int.MaxValue);
        var sink = new StoreRequestSink(store, TimeProvider.System, TimeSpan.Zero, NullLogger<StoreRequestSink>.Instance, capacity: 4);
        await sink.StartAsync(CancellationToken.None);
        for (int i = 0; i < 10; i++)
        {
            sink.Write(Record("r" + i));
            if (i % 3 == 0) await Task.Delay(120); // some gathered and failed, some waiting in the queue
        }
        await sink.StopAsync(CancellationToken.None);
        Assert.Equal((0L, 10L), (sink.Written, sink.Dropped));
    }
}
