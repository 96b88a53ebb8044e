using System.Diagnostics;
using Gateway.Core;
using Gateway.Core.Config;
using Gateway.Core.Errors;
using Gateway.Core.Providers;
using Gateway.Core.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Http;

/// <summary>How one endpoint builds and sends its request to a given deployment (a struct: no closure per request).</summary>
internal interface IAttemptSender
{
    /// <summary>Writes the request for <paramref name="route"/> and returns the provider's model id.</summary>
    ReadOnlyMemory<byte> Write(in ModelRoute route, PooledBufferWriter output);

    ValueTask<UpstreamResult> SendAsync(IProvider provider, ProviderCall call, HttpRequest request, CancellationToken cancellationToken);
}

/// <summary>One attempt's limits: connect (zero: the provider's own), first byte, idle between stream reads (zero: none), total.</summary>
internal readonly record struct AttemptTimeouts(TimeSpan Connect, TimeSpan FirstByte, TimeSpan Idle, TimeSpan Total);

/// <summary>
/// A provider call that went out: its result, the deadline that still governs reading the answer,
/// and the deployment's meter, settled when the answer has been relayed (on dispose).
/// </summary>
internal sealed class SentCall(UpstreamResult result, UpstreamDeadline deadline, IProvider provider, long upstreamStarted, long upstreamTicks,
    PooledBufferWriter? body, DeploymentState? state, BreakerConfig? breaker = null, ILogger? logger = null, string? model = null, bool wentOut = true) : IDisposable
{
    /// <summary>An answer the gateway had already (the response cache's): nothing went out, no deployment is judged by it, only the client can cut it short.</summary>
    public static SentCall Replay(UpstreamResponse answer, IProvider provider, CancellationToken clientAborted) =>
        new(UpstreamResult.Ok(answer), new UpstreamDeadline(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan, clientAborted), provider,
            System.Diagnostics.Stopwatch.GetTimestamp(), 0, body: null, state: null, wentOut: false);

    /// <summary>The call reached the provider (false: the gateway answered for it, a full queue or no deployment left).</summary>
    public bool WentOut { get; } = wentOut;

    public UpstreamResult Result { get; } = result;
    public UpstreamDeadline Deadline { get; } = deadline;
    public IProvider Provider { get; } = provider;
    public long UpstreamStarted { get; } = upstreamStarted;
    public long UpstreamTicks { get; } = upstreamTicks;

    private bool _failed;

    /// <summary>
    /// The answer turned out to be a failure after all (no first token in time, a stream that broke
    /// or stalled, a body that never finished): the deployment's breaker and latency count it so.
    /// </summary>
    public void Failed() => _failed = true;

    /// <summary>The routing clock the deployment's state reads, and the time to the answer's headers on it.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;
    public long LatencyTicks { get; init; }

    public void Dispose()
    {
        var transition = state?.Finished(success: !_failed, _failed ? 0 : LatencyTicks, Clock.GetTimestamp(), breaker ?? BreakerConfig.Default);
        if (transition is { } t && logger is not null) UpstreamAttempts.LogBreaker(logger, t, Provider.Name, model ?? "", breaker ?? BreakerConfig.Default);
        Deadline.Dispose();
        body?.Dispose();
    }
}

/// <summary>Sends a request through an <see cref="AttemptPlan"/>: each retryable failure before an answer moves to the next attempt.</summary>
internal static partial class UpstreamAttempts
{
    public static async Task<SentCall> SendAsync<TSender>(HttpContext context, AttemptPlan plan, TSender sender, int bodyCapacity, ProviderOperation operation,
        bool stream, GatewaySnapshot snapshot, RetryBudget budget, ILogger logger, Pipeline.GatewayRequest? record = null) where TSender : IAttemptSender
    {
        var asked = RequestedTimeout(context.Request);
        // Waiting for an open breaker's probe is bounded by the request's own limit as well.
        var firstLimits = Timeouts(asked, plan.Route, plan.Route.Provider);
        if (firstLimits.Total < plan.ProbeWaitLimit) plan.ProbeWaitLimit = firstLimits.Total;
        if (!await plan.EnsureDeploymentAsync(snapshot, context.RequestAborted).ConfigureAwait(false))
        {
            var provider = plan.Route.Provider;
            var group = plan.Route.Group!;
            var unavailable = group.HasBudgets && group.OverBudget() != 0
                ? new GatewayError(503, "upstream_error", "deployments_unavailable",
                    $"Every deployment of '{group.Name}' is unavailable: over their budgets for this period, or their circuit breakers open.", ErrorSource.Upstream)
                : new GatewayError(503, "upstream_error", "deployments_unavailable",
                    $"Every deployment of '{group.Name}' is unavailable: their circuit breakers are open after repeated failures.", ErrorSource.Upstream);
            return Refused(unavailable, provider, new PooledBufferWriter(0));
        }
        while (true)
        {
            var route = plan.Route;
            var provider = route.Provider;
            var body = new PooledBufferWriter(bodyCapacity);
            var model = sender.Write(route, body);
            var state = plan.State;
            if (state is not null && route.Group is { } queueGroup)
            {
                var deploymentConfig = queueGroup.Deployments[route.Deployment].Config;
                QueueRefusal refusal;
                try
                {
                    refusal = await state.AcquireAsync(deploymentConfig.MaxConcurrency, plan.Priority,
                        queueGroup.Config.QueueLength, queueGroup.Config.QueueWait, context.RequestAborted).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // The client left while queued: nothing was sent, nothing to answer.
                    state.NotSent();
                    body.Dispose();
                    throw;
                }
                if (refusal != QueueRefusal.None)
                {
                    state.NotSent();
                    return Refused(QueueError(refusal, provider.Name), provider, body);
                }
                // The minute's requests or tokens used up: wait for a later minute in the deployment's
                // priority queue when the next one starts within the group's queue wait.
                int tokens = route.Request.TotalTokens;
                var windowLimit = state.TryCountRequest(deploymentConfig.Rpm, deploymentConfig.Tpm, tokens, snapshot.Time.GetTimestamp(), out var untilNextMinute);
                if (windowLimit != WindowLimit.None && untilNextMinute <= queueGroup.Config.QueueWait)
                {
                    QueueRefusal windowRefusal;
                    try
                    {
                        windowRefusal = await state.WaitForWindowAsync(deploymentConfig.Rpm, deploymentConfig.Tpm, tokens, plan.Priority,
                            queueGroup.Config.QueueLength, queueGroup.Config.QueueWait, context.RequestAborted).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        state.Abandoned();
                        body.Dispose();
                        throw;
                    }
                    if (windowRefusal == QueueRefusal.None) windowLimit = WindowLimit.None;
                    else untilNextMinute = state.UntilWindowTurn(snapshot.Time.GetTimestamp());
                }
                if (windowLimit != WindowLimit.None)
                {
                    state.Abandoned();
                    return Refused(WindowError(provider.Name, windowLimit, deploymentConfig, untilNextMinute), provider, body);
                }
            }
            // The limits start when the call goes out: time spent queued for a slot or a minute is not the provider's.
            var limits = Timeouts(asked, route, provider);
            var deadline = new UpstreamDeadline(limits.FirstByte, limits.Total, context.RequestAborted, snapshot.Time, limits.Idle);
            long upstreamStarted = Stopwatch.GetTimestamp(), sentAt = snapshot.Time.GetTimestamp();
            record?.Sending(upstreamStarted);
            var trace = record?.Trace ?? default;
            TraceHeaders traceHeaders = default;
            var attemptSpan = record?.Tracer is { } tracer ? tracer.StartAttempt(trace, out traceHeaders) : default;
            var result = await sender.SendAsync(provider,
                new ProviderCall(operation, body.WrittenMemory, model, stream) { ConnectTimeout = limits.Connect, Trace = traceHeaders }, context.Request,
                deadline.Token).ConfigureAwait(false);
            record?.Tracer?.EndAttempt(trace, attemptSpan, provider, model.Span, operation, result);
            long upstreamTicks = Stopwatch.GetTimestamp() - upstreamStarted;
            if (result.Response is not null)
            {
                // The body is this attempt's alone (a retry writes its own): a stream held for minutes
                // gives its bytes back to the pool as soon as the transport is done with them.
                result.Response.ReleaseRequestBody(body);
                return new SentCall(result, deadline, provider, upstreamStarted, upstreamTicks, body, state, route.Group?.Config.Breaker, logger, route.Target?.Model)
                {
                    Clock = snapshot.Time, LatencyTicks = snapshot.Time.GetTimestamp() - sentAt,
                };
            }

            if (deadline.ClientGone)
            {
                state?.Abandoned();
                return new SentCall(result, deadline, provider, upstreamStarted, upstreamTicks, body, null);
            }
            if (route.Group is { } group && state is not null)
                LogBreaker(logger, state.Finished(success: false, 0, snapshot.Time.GetTimestamp(), group.Config.Breaker), provider.Name,
                    route.Target?.Model ?? "", group.Config.Breaker);
            var failure = result.Error ?? (deadline.Expired is { } limit
                ? GatewayError.UpstreamTimeout(provider.Name, deadline.ExpiredBeforeFirstByte ? "send a first byte" : "answer", limit) : null);
            if (failure is null || !plan.CanContinueAfter(failure)
                || !await plan.NextAsync(snapshot, failure, budget, context.RequestAborted).ConfigureAwait(false))
            {
                // The provider's trouble (refused key, unreachable, timeout, 5xx, rate limit), not a client's request it rejected.
                if (failure is { Source: ErrorSource.Upstream or ErrorSource.Timeout, Status: >= 500 or 429 } && FailureLog.ShouldLog((object?)state ?? provider, out int suppressed))
                    Log.ProviderFailed(logger, provider.Name, System.Text.Encoding.UTF8.GetString(model.Span), failure.Status, failure.Code,
                        context.TraceIdentifier, failure.Message, suppressed);
                return new SentCall(result, deadline, provider, upstreamStarted, upstreamTicks, body, null);
            }
            Log.Retrying(logger, provider.Name, failure.Status, plan.Attempts, plan.Route.Provider.Name);
            deadline.Dispose();
            body.Dispose();
        }
    }

    /// <summary>The gateway answers for the provider without calling it: nothing was sent, no limit runs.</summary>
    private static SentCall Refused(GatewayError error, IProvider provider, PooledBufferWriter body) =>
        new(UpstreamResult.Fail(error), new UpstreamDeadline(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan, CancellationToken.None), provider,
            Stopwatch.GetTimestamp(), 0, body, null, wentOut: false);

    /// <summary>A full deployment turned the request away: a 429 the client may retry shortly.</summary>
    private static GatewayError QueueError(QueueRefusal refusal, string provider) =>
        new(429, "rate_limit_error", refusal == QueueRefusal.TimedOut ? "queue_timeout" : "queue_full", refusal switch
        {
            QueueRefusal.TimedOut => $"Provider '{provider}' is at its concurrency limit and no slot freed up in time.",
            QueueRefusal.Shed => $"Provider '{provider}' is at its concurrency limit and more urgent requests took this one's place in the queue.",
            _ => $"Provider '{provider}' is at its concurrency limit and its queue is full.",
        }, ErrorSource.Gateway) { Headers = [KeyValuePair.Create("retry-after", "1")] };

    /// <summary>Every deployment that could serve has used its requests or tokens for this minute.</summary>
    private static GatewayError WindowError(string provider, WindowLimit limit, Gateway.Core.Config.DeploymentConfig deployment, TimeSpan untilNextMinute) =>
        new(429, "rate_limit_error", limit == WindowLimit.Requests ? "rpm_exceeded" : "tpm_exceeded", limit == WindowLimit.Requests
            ? $"Provider '{provider}' has used its {deployment.Rpm} requests for this minute."
            : $"Provider '{provider}' has used its {deployment.Tpm} tokens for this minute.", ErrorSource.Gateway)
        {
            Headers = [KeyValuePair.Create("retry-after", Math.Max(1, (int)Math.Ceiling(untilNextMinute.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture))],
        };

    /// <summary>The request's header for a shorter wait than the operator configured; never a longer one.</summary>
    public const string TimeoutHeader = "x-gateway-timeout-ms";

    /// <summary>The shorter total the client asked for with <see cref="TimeoutHeader"/>, if any; read once per request.</summary>
    private static TimeSpan? RequestedTimeout(HttpRequest request) =>
        request.Headers.TryGetValue(TimeoutHeader, out var value)
        && long.TryParse(value.ToString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long ms) && ms > 0
            ? TimeSpan.FromMilliseconds(ms)
            : null;

    /// <summary>
    /// The group's timeouts, else the provider's; what the client <paramref name="asked"/> may only
    /// shorten them (every limit is capped at it).
    /// </summary>
    internal static AttemptTimeouts Timeouts(TimeSpan? asked, in ModelRoute route, IProvider provider)
    {
        var group = route.Group?.Config;
        var config = provider.Config;
        var firstByte = group?.FirstByteTimeout ?? config.FirstByteTimeout;
        var total = group?.Timeout ?? config.Timeout;
        var idle = group?.IdleTimeout ?? config.IdleTimeout;
        // Zero: the provider's own connect limit, set on its connection pool. A group's can only be shorter.
        var connect = group?.ConnectTimeout is { } groupConnect && groupConnect < config.ConnectTimeout ? groupConnect : TimeSpan.Zero;
        if (asked is { } cap)
        {
            if (total > cap) total = cap;
            if (firstByte > total) firstByte = total;
            if (idle > total) idle = total;
            if ((connect == TimeSpan.Zero ? config.ConnectTimeout : connect) > total) connect = total;
        }
        return new AttemptTimeouts(connect, firstByte, idle, total);
    }

    private static readonly ProviderFailureLog FailureLog = new();

    /// <summary>A breaker that opened, stayed open after its probe, or closed: each at most once per cool-down per deployment by nature.</summary>
    internal static void LogBreaker(ILogger logger, BreakerTransition transition, string provider, string model, BreakerConfig breaker)
    {
        switch (transition)
        {
            case BreakerTransition.Opened:
                Log.BreakerOpened(logger, provider, model, (long)breaker.CoolDown.TotalMilliseconds);
                break;
            case BreakerTransition.ProbeFailed:
                Log.BreakerProbeFailed(logger, provider, model, (long)breaker.CoolDown.TotalMilliseconds);
                break;
            case BreakerTransition.Closed:
                Log.BreakerClosed(logger, provider, model);
                break;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1005, Level = LogLevel.Warning,
            Message = "Provider {Provider} failed for model {Model}: {Status} {Code}, request {RequestId}: {Reason} ({Suppressed} more from this provider not logged since the last line)")]
        public static partial void ProviderFailed(ILogger logger, string provider, string model, int status, string code, string requestId, string reason, int suppressed);

        [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "Circuit breaker opened for {Provider}/{Model}: it is kept out for {CoolDownMs} ms, then probed")]
        public static partial void BreakerOpened(ILogger logger, string provider, string model, long coolDownMs);

        [LoggerMessage(EventId = 1007, Level = LogLevel.Warning, Message = "Circuit breaker for {Provider}/{Model}: the probe failed; kept out for another {CoolDownMs} ms")]
        public static partial void BreakerProbeFailed(ILogger logger, string provider, string model, long coolDownMs);

        [LoggerMessage(EventId = 1008, Level = LogLevel.Information, Message = "Circuit breaker closed for {Provider}/{Model}: the probe succeeded")]
        public static partial void BreakerClosed(ILogger logger, string provider, string model);

        [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "Provider {Provider} failed with {Status}; attempt {Attempt} goes to {Next}")]
        public static partial void Retrying(ILogger logger, string provider, int status, int attempt, string next);
    }
}
