using System.Threading.Channels;
using Gateway.Core.Governance;
using Gateway.Storage;
using Gateway.Storage.Sqlite;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Pipeline;

/// <summary>
/// Every request's record into the store: the request hands its row to a bounded queue and goes on;
/// one background writer takes what has queued and writes it in one transaction (request log and daily
/// usage). The request never waits on the database. A full queue drops the row and counts it (logged
/// once a minute at most), never blocks; rows still queued at shutdown are written before the store closes.
/// </summary>
internal sealed partial class StoreRequestSink : BackgroundService, IRequestSink
{
    public const int DefaultQueue = 10_000;
    private const int MaxBatch = 512;

    /// <summary>How long the first row of a batch waits for others (a crash loses at most this much more).</summary>
    internal static readonly TimeSpan Gather = TimeSpan.FromMilliseconds(50);
    private readonly Channel<RequestLogRow> _queue;
    private readonly IRequestLogStore _store;
    private readonly TimeProvider _time;
    private readonly TimeSpan _retention;
    private readonly ILogger _logger;
    private long _dropped, _droppedReported, _written;

    public StoreRequestSink(IRequestLogStore store, TimeProvider time, TimeSpan retention, ILogger<StoreRequestSink> logger, int capacity = DefaultQueue)
    {
        _store = store;
        _time = time;
        _retention = retention;
        _logger = logger;
        _queue = Channel.CreateBounded<RequestLogRow>(new BoundedChannelOptions(capacity)
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
        if (!_queue.Writer.TryWrite(row)) Interlocked.Increment(ref _dropped);
    }

    private static readonly string[] OutcomeNames = Enum.GetNames<RequestOutcome>();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<RequestLogRow>(MaxBatch);
        long nextCleanup = 0;
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                // Let rows gather first: a transaction per row or two wrote the table's and each index's
                // pages to the WAL every time (8% of a request's CPU under load); batched, they are shared.
                // Real time, not the injected clock: this only paces writes, it decides nothing.
                await Task.Delay(Gather, stoppingToken).ConfigureAwait(false);
                Flush(batch);
                long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
                if (now >= nextCleanup)
                {
                    Cleanup(now);
                    nextCleanup = now + 3_600_000;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping: what is still queued is written below
        }
        _queue.Writer.TryComplete();
        Flush(batch);
    }

    /// <summary>Writes everything queued now, a batch at a time.</summary>
    private void Flush(List<RequestLogRow> batch)
    {
        while (true)
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var row)) batch.Add(row);
            if (batch.Count == 0) break;
            try
            {
                _store.Write(batch);
                Interlocked.Add(ref _written, batch.Count);
            }
            catch (Exception ex) when (ex is StorageException or Microsoft.Data.Sqlite.SqliteException or IOException)
            {
                Interlocked.Add(ref _dropped, batch.Count);
                Log.WriteFailed(_logger, batch.Count, ex.Message);
            }
        }
        long dropped = Dropped;
        if (dropped != _droppedReported)
        {
            Log.Dropped(_logger, dropped - _droppedReported, dropped);
            _droppedReported = dropped;
        }
    }

    private void Cleanup(long now)
    {
        if (_retention <= TimeSpan.Zero) return;
        try
        {
            int deleted = _store.DeleteOlderThan(now - (long)_retention.TotalMilliseconds);
            if (deleted > 0) Log.Retention(_logger, deleted, (int)_retention.TotalDays);
        }
        catch (Exception ex) when (ex is StorageException or Microsoft.Data.Sqlite.SqliteException)
        {
            Log.WriteFailed(_logger, 0, ex.Message);
        }
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
