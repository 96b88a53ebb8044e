using Gateway.Core.Governance;
using Gateway.Server.Pipeline;
using Gateway.Storage;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Governance;

/// <summary>
/// Commits an ended request's usage to the shared store before the request completes (DESIGN §11), so that
/// a replica killed the next instant has lost none of what it answered. A JSON answer's bytes wait in the
/// response until then (they are written unflushed); a stream's end waits for it. The wait is bounded: a
/// store that is down or slow leaves the usage to the request log's batch (counted there once it writes),
/// and the request goes on. Whether the commit happened or not, the request log's writer learns from the
/// commit itself (<see cref="RequestRecord.UsageCommit"/>), so usage is counted once: never lost, never twice.
/// </summary>
internal sealed partial class UsageSettlement(IUsageLedger ledger, TimeProvider time, ILogger<UsageSettlement> logger)
{
    /// <summary>How long a request waits for its commit before leaving its usage to the batch.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(2);

    private long _failures;

    /// <summary>Requests whose usage could not be committed as they ended (left to the batch).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>What the record adds to daily usage: a provider's answer or a cache hit; nothing for a request that got neither.</summary>
    public static UsageDelta? DeltaOf(in RequestRecord record, long now)
    {
        bool hit = record.Cache == "hit";
        if (record.Provider is null && !hit) return null;
        long day = UsageRollup.DayOf(now);
        if (hit) return new UsageDelta(day, record.KeyId ?? "", record.Team ?? "", record.Tenant ?? "", record.Model ?? "", 0, 0, 0, 0, 0, 0, 1);
        var usage = record.Usage;
        return new UsageDelta(day, record.KeyId ?? "", record.Team ?? "", record.Tenant ?? "", record.Model ?? "", 1, usage?.PromptTokens ?? 0,
            usage?.CompletionTokens ?? 0, usage?.CachedTokens ?? 0, usage?.ReasoningTokens ?? 0, record.CostNanos ?? 0, 0);
    }

    /// <summary>Starts committing the record's usage; null when it adds none.</summary>
    /// <returns>True once committed; false when the store failed (the request log's batch then counts it). Never faults.</returns>
    public Task<bool>? Commit(in RequestRecord record)
    {
        if (DeltaOf(record, time.GetUtcNow().ToUnixTimeMilliseconds()) is not { } delta) return null;
        return CommitAsync(delta);
    }

    private async Task<bool> CommitAsync(UsageDelta delta)
    {
        try
        {
            await ledger.AddAsync(delta, CancellationToken.None).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (GatewayStore.IsStoreFailure(ex) || ex is IOException or TimeoutException)
        {
            if (Interlocked.Increment(ref _failures) % 100 == 1) Log.Failed(logger, Interlocked.Read(ref _failures), ex.Message);
            return false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6201, Level = LogLevel.Warning, Message = "Usage could not be committed as requests ended ({Count} so far); it is left to the request log's batch: {Reason}")]
        public static partial void Failed(ILogger logger, long count, string reason);
    }
}
