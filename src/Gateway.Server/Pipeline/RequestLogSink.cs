using Microsoft.Extensions.Logging;

namespace Gateway.Server.Pipeline;

/// <summary>
/// <c>server.logRequests</c>: one line per request with who, what, where, how it ended, tokens and
/// timings, in the request log's own category (on whatever the general level).
/// </summary>
internal sealed partial class RequestLogSink(Gateway.Core.SnapshotHolder snapshots, ILoggerFactory loggers) : IRequestSink
{
    /// <summary>The request log's own category: switched on by <c>server.logRequests</c>, whatever the general level.</summary>
    public const string Category = "Gateway.Requests";

    private readonly ILogger _logger = loggers.CreateLogger(Category);

    public void Write(in RequestRecord record)
    {
        if (!snapshots.Current.Config.Server.LogRequests) return;
        var usage = record.Usage;
        Log.Request(_logger, record.Method, record.Path, record.Status, record.Total.TotalMilliseconds,
            record.KeyId ?? "-", record.Dialect, record.Model ?? "-",
            record.Provider is null ? "-" : record.Provider + "/" + record.ProviderModel, record.Attempts,
            usage?.PromptTokens ?? 0, usage?.CompletionTokens ?? 0, usage?.CachedTokens ?? 0, usage?.ReasoningTokens ?? 0, (record.CostNanos ?? 0) / 1e9,
            record.TimeToFirstToken?.TotalMilliseconds ?? 0, record.Upstream.TotalMilliseconds, record.Overhead.TotalMilliseconds,
            record.Outcome, record.ErrorCode ?? "-", record.RequestId);
    }

    /// <summary>For the routes that are not model routes (/v1/models, /health): the short line.</summary>
    public void WritePlain(string method, string path, int status, double milliseconds, string requestId)
    {
        if (snapshots.Current.Config.Server.LogRequests) Log.Plain(_logger, method, path, status, milliseconds, requestId);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4, Level = LogLevel.Information,
            Message = "{Method} {Path} {Status} in {DurationMs:0.###} ms: key {KeyId}, {Dialect}, model {Model} -> {Deployment}, attempts {Attempts}, "
                + "tokens {InputTokens} in {OutputTokens} out (cached {CachedTokens}, reasoning {ReasoningTokens}), cost ${CostUsd:0.########}, ttft {TtftMs:0.###} ms, "
                + "upstream {UpstreamMs:0.###} ms, gateway {OverheadMs:0.###} ms, {Outcome} {ErrorCode}, request {RequestId}")]
        public static partial void Request(ILogger logger, string method, string path, int status, double durationMs, string keyId, string dialect, string model,
            string deployment, int attempts, int inputTokens, int outputTokens, int cachedTokens, int reasoningTokens, double costUsd, double ttftMs, double upstreamMs, double overheadMs,
            RequestOutcome outcome, string errorCode, string requestId);

        [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "{Method} {Path} {Status} in {DurationMs:0.###} ms, request {RequestId}")]
        public static partial void Plain(ILogger logger, string method, string path, int status, double durationMs, string requestId);
    }
}
