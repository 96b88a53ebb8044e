using System.Diagnostics;
using Gateway.Core;
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

    ValueTask<UpstreamResult> SendAsync(IProvider provider, ProviderCall call, CancellationToken cancellationToken);
}

/// <summary>
/// A provider call that went out: its result, the deadline that still governs reading the answer,
/// and the deployment's meter, settled when the answer has been relayed (on dispose).
/// </summary>
internal sealed class SentCall(UpstreamResult result, UpstreamDeadline deadline, IProvider provider, long upstreamStarted, long upstreamTicks,
    PooledBufferWriter body, DeploymentState? state) : IDisposable
{
    public UpstreamResult Result { get; } = result;
    public UpstreamDeadline Deadline { get; } = deadline;
    public IProvider Provider { get; } = provider;
    public long UpstreamStarted { get; } = upstreamStarted;
    public long UpstreamTicks { get; } = upstreamTicks;

    public void Dispose()
    {
        state?.Finished(success: true, UpstreamTicks, Stopwatch.GetTimestamp());
        Deadline.Dispose();
        body.Dispose();
    }
}

/// <summary>Sends a request through an <see cref="AttemptPlan"/>: each retryable failure before an answer moves to the next attempt.</summary>
internal static partial class UpstreamAttempts
{
    public static async Task<SentCall> SendAsync<TSender>(HttpContext context, AttemptPlan plan, TSender sender, int bodyCapacity, ProviderOperation operation,
        bool stream, GatewaySnapshot snapshot, RetryBudget budget, ILogger logger) where TSender : IAttemptSender
    {
        while (true)
        {
            var route = plan.Route;
            var provider = route.Provider;
            var body = new PooledBufferWriter(bodyCapacity);
            var model = sender.Write(route, body);
            var deadline = new UpstreamDeadline(provider.Config.FirstByteTimeout, provider.Config.Timeout, context.RequestAborted);
            var state = plan.State;
            state?.Started();
            long upstreamStarted = Stopwatch.GetTimestamp();
            var result = await sender.SendAsync(provider, new ProviderCall(operation, body.WrittenMemory, model, stream), deadline.Token).ConfigureAwait(false);
            long upstreamTicks = Stopwatch.GetTimestamp() - upstreamStarted;
            if (result.Response is not null) return new SentCall(result, deadline, provider, upstreamStarted, upstreamTicks, body, state);

            if (deadline.ClientGone)
            {
                state?.Abandoned();
                return new SentCall(result, deadline, provider, upstreamStarted, upstreamTicks, body, null);
            }
            state?.Finished(success: false, 0, Stopwatch.GetTimestamp());
            var failure = result.Error ?? (deadline.Expired is { } limit
                ? GatewayError.UpstreamTimeout(provider.Name, deadline.ExpiredBeforeFirstByte ? "send a first byte" : "answer", limit) : null);
            if (failure is null || !Resilience.IsRetryable(failure)
                || !await plan.NextAsync(snapshot, failure, budget, context.RequestAborted).ConfigureAwait(false))
                return new SentCall(result, deadline, provider, upstreamStarted, upstreamTicks, body, null);
            Log.Retrying(logger, provider.Name, failure.Status, plan.Attempts, plan.Route.Provider.Name);
            deadline.Dispose();
            body.Dispose();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "Provider {Provider} failed with {Status}; attempt {Attempt} goes to {Next}")]
        public static partial void Retrying(ILogger logger, string provider, int status, int attempt, string next);
    }
}
