using System.Threading.Channels;
using Gateway.Core.Governance;
using Gateway.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Pipeline;

/// <summary>
/// Every request's record into the store: the request hands its row to a bounded queue and goes on;
/// one background writer takes what has queued and writes it in one transaction (request log and daily
/// usage). The request never waits on the database. A store that fails keeps its rows here, up to the queue's
/// capacity, and is tried again (after 1 s, then less often, at most every 10 s) until it takes them; beyond
/// that, and when the queue itself is full, rows are dropped and counted (logged), never blocking a request.
/// Rows still queued at shutdown are written before the store closes.
/// </summary>
internal sealed partial class StoreRequestSink : BackgroundService, IRequestSink
{
    public const int DefaultQueue = 10_000;
    private const int MaxBatch = 512;

    /// <summary>How long the first row of a batch waits for others (a crash loses at most this much more).</summary>
    internal static readonly TimeSpan Gather = TimeSpan.FromMilliseconds(50);
    private readonly Channel<(RequestLogRow Row, Task<bool>? Commit)> _queue;
    private readonly IRequestLogStore _store;
    private readonly TimeProvider _time;
    private readonly TimeSpan _retention;
    private readonly ILogger _logger;
    private readonly int _capacity;
    // The rows' writes run on a thread of their own at a lower priority: a batch written at the requests'
    // priority held the core for milliseconds at a time, and the requests waiting behind it made the p99
    // under load (bench/RESULTS.md). A backlog past an eighth of the queue is written at normal priority
    // instead, so a saturated gateway catches up rather than dropping rows.
    private readonly Hosting.LowPriorityThread _writer;

    /// <summary>The nice value the request log's writes run at (Linux).</summary>
    internal const int WriterNice = 10;
    private long _dropped, _droppedReported, _written;

    public StoreRequestSink(IRequestLogStore store, TimeProvider time, TimeSpan retention, ILogger<StoreRequestSink> logger, int capacity = DefaultQueue)
    {
        _store = store;
        _time = time;
        _retention = retention;
        _logger = logger;
        _capacity = capacity;
        _writer = new Hosting.LowPriorityThread("request-log", WriterNice);
        _queue = Channel.CreateBounded<(RequestLogRow, Task<bool>?)>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait, // TryWrite then says "full" instead of dropping silently
            SingleReader = true,
        });
    }

    /// <summary>Rows dropped because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Rows written to the store.</summary>
    public long Written => Interlocked.Read(ref _written);

    public void Write(in RequestRecord record)
    {
        var usage = record.Usage;
        var row = new RequestLogRow
        {
            Id = record.RequestId,
            Time = _time.GetUtcNow().ToUnixTimeMilliseconds(),
            KeyId = record.KeyId,
            Team = record.Team,
            Tenant = record.Tenant,
            Dialect = record.Dialect,
            Model = record.Model,
            Provider = record.Provider,
            ProviderModel = record.ProviderModel,
            Attempts = record.Attempts,
            Stream = record.Stream,
            Status = record.Status,
            Outcome = OutcomeNames[(int)record.Outcome],
            ErrorCode = record.ErrorCode,
            InputTokens = usage?.PromptTokens ?? 0,
            OutputTokens = usage?.CompletionTokens ?? 0,
            CachedTokens = usage?.CachedTokens ?? 0,
            ReasoningTokens = usage?.ReasoningTokens ?? 0,
            CostNanos = record.CostNanos ?? 0,
            DurationMs = record.Total.TotalMilliseconds,
            TtftMs = record.TimeToFirstToken?.TotalMilliseconds,
            UpstreamMs = record.Upstream.TotalMilliseconds,
            RequestBody = record.RequestBody,
            ResponseBody = record.ResponseBody,
            Policies = record.Policies,
            Cache = record.Cache,
            CacheSimilarity = record.CacheSimilarity,
        };
        if (!_queue.Writer.TryWrite((row, record.UsageCommit))) Interlocked.Increment(ref _dropped);
    }

    private static readonly string[] OutcomeNames = Enum.GetNames<RequestOutcome>();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<(RequestLogRow Row, Task<bool>? Commit)>(MaxBatch);
        var rows = new List<RequestLogRow>(MaxBatch);
        long nextCleanup = 0;
        var backoff = TimeSpan.Zero;
        try
        {
            // Rows a failed write left are tried again whether or not new ones come.
            while (_retry.Count > 0 || await _queue.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                // Let rows gather first: a transaction per row or two wrote the table's and each index's
                // pages to the WAL every time (8% of a request's CPU under load); batched, they are shared.
                // Real time, not the injected clock: this only paces writes, it decides nothing.
                await Task.Delay(Gather, stoppingToken).ConfigureAwait(false);
                if (await FlushAsync(batch, rows).ConfigureAwait(false)) backoff = TimeSpan.Zero;
                else
                {
                    // The store failed: what did not go in is kept (to the bound) and tried again, less often while it keeps failing.
                    backoff = backoff == TimeSpan.Zero ? TimeSpan.FromSeconds(1) : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
                    await Task.Delay(backoff, stoppingToken).ConfigureAwait(false);
                    continue;
                }
                long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
                if (now >= nextCleanup)
                {
                    await _writer.RunAsync(() => Cleanup(now)).ConfigureAwait(false);
                    nextCleanup = now + 3_600_000;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping: what is still queued is written below
        }
        _queue.Writer.TryComplete();
        if (!await FlushAsync(batch, rows).ConfigureAwait(false))
        {
            // Stopping with the store still failing: what it could not take, kept or still queued, is lost, and said so.
            long left = _retry.Count;
            while (_queue.Reader.TryRead(out _)) left++;
            _retry.Clear();
            Interlocked.Add(ref _dropped, left);
            Log.Dropped(_logger, Dropped - _droppedReported, Dropped);
        }
        _writer.Dispose();
    }

    public override void Dispose()
    {
        base.Dispose();
        _writer.Dispose();
    }

    /// <summary>Rows a failed write left, written first next time; at most the queue's capacity (beyond it the oldest are dropped and counted).</summary>
    private readonly List<RequestLogRow> _retry = [];

    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);

    /// <summary>Writes what a failed write left, then everything queued now, a batch at a time.</summary>
    /// <returns>False when the store failed (what was not written is kept in <see cref="_retry"/>).</returns>
    private async Task<bool> FlushAsync(List<(RequestLogRow Row, Task<bool>? Commit)> batch, List<RequestLogRow> rows)
    {
        bool ok = true;
        for (int start = 0; start < _retry.Count && ok; start += MaxBatch)
        {
            var chunk = _retry.GetRange(start, Math.Min(MaxBatch, _retry.Count - start));
            if (!await TryWriteAsync(chunk).ConfigureAwait(false))
            {
                _retry.RemoveRange(0, start);
                ok = false;
            }
        }
        if (ok) _retry.Clear();
        while (ok)
        {
            batch.Clear();
            rows.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var item)) batch.Add(item);
            if (batch.Count == 0) break;
            // A row whose usage was committed as it ended must not add it again; one whose commit failed adds it here.
            // A commit still running (a slow store) is waited for: it ends, one way or the other, within the store's timeouts.
            foreach (var (row, commit) in batch)
            {
                bool settled = commit is not null && await commit.ConfigureAwait(false);
                rows.Add(settled ? row with { UsageSettled = true } : row);
            }
            if (!await TryWriteAsync(rows).ConfigureAwait(false)) Keep(rows);
            ok = _retry.Count == 0;
        }
        long dropped = Dropped;
        if (dropped != _droppedReported)
        {
            Log.Dropped(_logger, dropped - _droppedReported, dropped);
            _droppedReported = dropped;
        }
        return ok;
    }

    private Task<bool> TryWriteAsync(List<RequestLogRow> rows) =>
        _queue.Reader.Count > _capacity / 8 ? Task.FromResult(TryWrite(rows)) : _writer.RunAsync(() => TryWrite(rows));

    private bool TryWrite(List<RequestLogRow> rows)
    {
        try
        {
            _store.Write(rows);
            Interlocked.Add(ref _written, rows.Count);
            return true;
        }
        catch (Exception ex) when (GatewayStore.IsStoreFailure(ex) || ex is IOException)
        {
            Log.WriteFailed(_logger, rows.Count, ex.Message);
            return false;
        }
    }

    private void Keep(List<RequestLogRow> rows)
    {
        _retry.AddRange(rows);
        int over = _retry.Count - _capacity;
        if (over <= 0) return;
        _retry.RemoveRange(0, over);
        Interlocked.Add(ref _dropped, over);
    }

    private bool Cleanup(long now)
    {
        if (_retention <= TimeSpan.Zero) return true;
        try
        {
            int deleted = _store.DeleteOlderThan(now - (long)_retention.TotalMilliseconds);
            if (deleted > 0) Log.Retention(_logger, deleted, (int)_retention.TotalDays);
        }
        catch (Exception ex) when (GatewayStore.IsStoreFailure(ex))
        {
            Log.WriteFailed(_logger, 0, ex.Message);
        }
        return true;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5001, Level = LogLevel.Warning, Message = "Request log: {Count} rows dropped since the last report ({Total} in all): the queue was full or the store failed")]
        public static partial void Dropped(ILogger logger, long count, long total);

        [LoggerMessage(EventId = 5002, Level = LogLevel.Error, Message = "Request log: writing {Count} rows failed: {Reason}")]
        public static partial void WriteFailed(ILogger logger, int count, string reason);

        [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "Request log: {Count} rows older than {Days} days deleted")]
        public static partial void Retention(ILogger logger, int count, int days);
    }
}
