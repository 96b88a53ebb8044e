using System.Diagnostics;
using Gateway.Core;
using Gateway.Core.Errors;
using Gateway.Core.Routing;
using Microsoft.AspNetCore.Http;

namespace Gateway.Server.Http;

/// <summary>
/// The attempts of one request: retries within its group (another deployment when there is one,
/// after a jittered backoff, within the retry budget), then its fallback groups in order. A
/// deployment that sent <c>retry-after</c> rests that long. Only failures before the first byte
/// reached the client are retried; the endpoint never calls this after that.
/// </summary>
internal sealed class AttemptPlan(ModelRoute first)
{
    /// <summary>The longest a request waits for an open breaker's probe when nothing else can serve.</summary>
    internal static readonly TimeSpan MaxWaitForProbe = TimeSpan.FromSeconds(30);

    private readonly RoutingRequest _request = first.Request;
    private readonly DeploymentGroup? _origin = first.Group;
    private DeploymentGroup? _group = first.Group;
    private ulong _tried;
    private int _retriesLeft = first.Group?.Config.Retries ?? 0;
    private int _fallbackIndex;

    public ModelRoute Route { get; private set; } = first;

    /// <summary>The longest this request waits for a probe or a rest to end: <see cref="MaxWaitForProbe"/>, or its own total limit when shorter.</summary>
    public TimeSpan ProbeWaitLimit { get; set; } = MaxWaitForProbe;

    /// <summary>Where the request stands in a full deployment's queue.</summary>
    public RequestPriority Priority { get; init; } = RequestPriority.Normal;

    public const string PriorityHeader = "x-gateway-priority";

    /// <summary>The key's priority, lowered (never raised) by the request's <see cref="PriorityHeader"/>.</summary>
    public static RequestPriority PriorityOf(Gateway.Core.Auth.GatewayKey? key, HttpRequest request)
    {
        var allowed = (RequestPriority)(key?.Priority ?? 1);
        if (!request.Headers.TryGetValue(PriorityHeader, out var value)) return allowed;
        RequestPriority? asked = value.ToString() switch { "low" => RequestPriority.Low, "normal" => RequestPriority.Normal, "high" => RequestPriority.High, _ => null };
        return asked is { } p && p < allowed ? p : allowed;
    }
    public int Attempts { get; private set; } = 1;
    public string? Fallback { get; private set; }

    public DeploymentState? State => Route.Group is { } group && Route.Deployment >= 0 ? group.Deployments[Route.Deployment].State : null;

    /// <summary>
    /// When the router found every deployment's breaker open, waits for the earliest probe (up to
    /// <see cref="ProbeWaitLimit"/>), else moves to the fallbacks; false when nothing can serve.
    /// </summary>
    public async ValueTask<bool> EnsureDeploymentAsync(GatewaySnapshot snapshot, CancellationToken cancellationToken)
    {
        if (_group is null || Route.Deployment >= 0) return true;
        int next = await WaitForProbeAsync(_group, cancellationToken).ConfigureAwait(false);
        if (next < 0) next = await NextFallbackAsync(snapshot, cancellationToken).ConfigureAwait(false);
        if (next < 0) return false;
        Route = ModelRoute.ToDeployment(_group, next, _request);
        return true;
    }

    /// <summary>Whether this failure moves the request to a fallback group: it is retryable, or a kind the group falls back on.</summary>
    public bool CanContinueAfter(GatewayError failure) =>
        Resilience.IsRetryable(failure) || (_origin is not null && Resilience.FallbackKind(failure) is { } kind && _origin.Config.FallbackOn.Contains(kind));

    /// <summary>Moves to the next attempt after <paramref name="failure"/>; false when there is none.</summary>
    public async ValueTask<bool> NextAsync(GatewaySnapshot snapshot, GatewayError failure, RetryBudget budget, CancellationToken cancellationToken)
    {
        if (_group is null || _origin is null) return false; // provider/model: nothing else to try
        if (Resilience.RetryAfter(failure, snapshot.Time.GetUtcNow()) is { } pause) State?.RestFor(pause, snapshot.Time.GetTimestamp());
        _tried |= 1UL << Route.Deployment;

        int next = -1;
        // A prompt too long or a refusal is the same on every deployment of the group: straight to the fallbacks.
        if (!Resilience.IsRetryable(failure)) _retriesLeft = 0;
        if (_retriesLeft > 0 && budget.TryWithdraw())
        {
            _retriesLeft--;
            next = _group.Pick(_tried, _request);
            if (next < 0) next = _group.Pick(0, _request); // every deployment tried: the same ones again
            if (next < 0) next = await WaitForProbeAsync(_group, cancellationToken).ConfigureAwait(false);
            if (next >= 0)
            {
                try
                {
                    await Task.Delay(Resilience.Backoff(Attempts, snapshot.Random), snapshot.Time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    _group.Deployments[next].State.NotSent(); // the client left during the backoff: a probe it claimed goes back
                    throw;
                }
            }
        }
        if (next < 0) next = await NextFallbackAsync(snapshot, cancellationToken).ConfigureAwait(false);
        if (next < 0) return false;
        Route = ModelRoute.ToDeployment(_group, next, _request);
        Attempts++;
        return true;
    }

    /// <summary>The first remaining fallback group that can serve, which becomes the current group; -1 when none is left.</summary>
    private async ValueTask<int> NextFallbackAsync(GatewaySnapshot snapshot, CancellationToken cancellationToken)
    {
        while (_origin is not null && _fallbackIndex < _origin.Config.Fallbacks.Count)
        {
            string name = _origin.Config.Fallbacks[_fallbackIndex++];
            if (!snapshot.Groups.TryGetValue(name, out var fallback)) continue;
            _group = fallback;
            _tried = 0;
            _retriesLeft = fallback.Config.Retries;
            Fallback = name;
            int next = fallback.Pick(0, _request);
            if (next < 0) next = await WaitForProbeAsync(fallback, cancellationToken).ConfigureAwait(false);
            if (next >= 0) return next;
        }
        return -1;
    }

    /// <summary>Every deployment is resting or open: wait for the earliest to take a probe, if that is soon enough.</summary>
    private async ValueTask<int> WaitForProbeAsync(DeploymentGroup group, CancellationToken cancellationToken)
    {
        long earliest = group.EarliestProbe(0);
        if (earliest == 0) return -1;
        var time = group.Time;
        var wait = time.GetElapsedTime(time.GetTimestamp(), earliest);
        if (wait > ProbeWaitLimit) return -1;
        // Timers round to the millisecond: a little margin so the probe is not a hair too early.
        if (wait > TimeSpan.Zero) await Task.Delay(wait + TimeSpan.FromMilliseconds(5), time, cancellationToken).ConfigureAwait(false);
        return group.Pick(0, _request);
    }

    /// <summary>What happened, for the client: the deployment that answered, how many attempts, the fallback used.</summary>
    public void WriteHeaders(HttpResponse response)
    {
        if (response.HasStarted) return;
        var headers = response.Headers;
        if (Route.Target is { } target) headers["x-gateway-deployment"] = target.Provider.Name + "/" + target.Model;
        headers["x-gateway-attempts"] = Attempts.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (Fallback is not null) headers["x-gateway-fallback"] = Fallback;
    }
}
