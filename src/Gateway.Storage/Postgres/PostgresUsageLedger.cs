using System.Threading.Channels;
using Gateway.Core.Governance;

namespace Gateway.Storage.Postgres;

/// <summary>
/// Daily usage committed to PostgreSQL as each request ends (see <see cref="IUsageLedger"/>), by group commit:
/// one writer takes every delta that queued while the last commit was in flight and commits them in one
/// statement, then releases each request that waited for it. Alone, a request waits one round trip; under
/// load, hundreds share one.
/// </summary>
public sealed class PostgresUsageLedger : IUsageLedger, IAsyncDisposable
{
    private const int MaxBatch = 1024;
    private readonly PostgresDatabase _database;
    private readonly Channel<(UsageDelta Delta, TaskCompletionSource Done)> _queue =
        Channel.CreateUnbounded<(UsageDelta, TaskCompletionSource)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;

    public PostgresUsageLedger(PostgresDatabase database)
    {
        _database = database;
        _writer = Task.Run(WriteAsync);
    }

    public ValueTask AddAsync(UsageDelta delta, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite((delta, done))) throw new StorageException("the usage ledger is closed");
        return new ValueTask(done.Task.WaitAsync(cancellationToken));
    }

    private async Task WriteAsync()
    {
        var batch = new List<(UsageDelta Delta, TaskCompletionSource Done)>(MaxBatch);
        var deltas = new List<UsageDelta>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            deltas.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var item))
            {
                batch.Add(item);
                deltas.Add(item.Delta);
            }
            try
            {
                await using var connection = await _database.OpenAsync().ConfigureAwait(false);
                await UsageStatement.AddAsync(connection, deltas, CancellationToken.None).ConfigureAwait(false);
                foreach (var (_, done) in batch) done.TrySetResult();
            }
            catch (Exception ex)
            {
                // Whatever failed, every request waiting on this batch hears of it: none may wait forever.
                var failure = _database.Failed(ex);
                foreach (var (_, done) in batch) done.TrySetException(failure);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }
}
