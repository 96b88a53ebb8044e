using System.Diagnostics;
using System.Numerics;
using Gateway.Core.Config;

namespace Gateway.Core.Routing;

/// <summary>One deployment of a group: where to send (the target) and what has been seen of it (the state).</summary>
public sealed class Deployment(RouteTarget target, DeploymentConfig config, DeploymentState state)
{
    public RouteTarget Target { get; } = target;
    public DeploymentConfig Config { get; } = config;
    public DeploymentState State { get; } = state;
    public string Name { get; } = config.Provider + "/" + config.Model;
}

/// <summary>What a strategy may weigh about the request.</summary>
/// <param name="EstimatedPromptTokens">About a token per four bytes of request: enough to compare prices, never used to bill.</param>
public readonly record struct RoutingRequest(int EstimatedPromptTokens, int ExpectedOutputTokens)
{
    public const int DefaultOutputTokens = 256;

    public static RoutingRequest For(ReadOnlySpan<byte> body) => new(body.Length / 4, DefaultOutputTokens);
}

/// <summary>
/// An alias or group of a snapshot: its deployments, its strategy, its retries and fallbacks.
/// Picking skips deployments already tried by this request and those whose breaker is open,
/// unless nothing else is left.
/// </summary>
public sealed class DeploymentGroup
{
    private int _cursor;

    public DeploymentGroup(ModelGroupConfig config, Deployment[] deployments)
    {
        Config = config;
        Deployments = deployments;
        Strategy = RoutingStrategies.For(config.Strategy);
    }

    public string Name => Config.Name;
    public ModelGroupConfig Config { get; }
    public Deployment[] Deployments { get; }
    public IRoutingStrategy Strategy { get; }

    /// <summary>All deployments as a bit mask.</summary>
    public ulong All => Deployments.Length == 64 ? ulong.MaxValue : (1UL << Deployments.Length) - 1;

    internal int NextCursor() => Interlocked.Increment(ref _cursor) & int.MaxValue;

    /// <summary>The deployment for the next attempt, or -1 when every one was tried.</summary>
    /// <param name="tried">Deployments this request already tried (bit i = deployment i).</param>
    public int Pick(ulong tried, in RoutingRequest request)
    {
        ulong untried = All & ~tried;
        if (untried == 0) return -1;
        long now = Stopwatch.GetTimestamp();
        ulong closed = 0;
        for (ulong rest = untried; rest != 0; rest &= rest - 1)
        {
            int i = BitOperations.TrailingZeroCount(rest);
            if (!Deployments[i].State.IsOpen) closed |= 1UL << i;
        }
        if (closed != 0)
        {
            // Deployments with a free slot first; when all are full, the one with the shortest queue.
            ulong free = 0;
            for (ulong rest = closed; rest != 0; rest &= rest - 1)
            {
                int i = BitOperations.TrailingZeroCount(rest);
                if (Deployments[i].State.HasCapacity(Deployments[i].Config.MaxConcurrency)) free |= 1UL << i;
            }
            return free != 0 ? Strategy.Pick(this, free, request) : ShortestQueue(closed);
        }
        // Every untried deployment is open: one whose cool-down is over goes as the probe.
        for (ulong rest = untried; rest != 0; rest &= rest - 1)
        {
            int i = BitOperations.TrailingZeroCount(rest);
            if (Deployments[i].State.TryProbe(now)) return i;
        }
        return -1;
    }

    private int ShortestQueue(ulong candidates)
    {
        int best = -1, shortest = int.MaxValue;
        for (ulong rest = candidates; rest != 0; rest &= rest - 1)
        {
            int i = BitOperations.TrailingZeroCount(rest);
            int queued = Deployments[i].State.Queued;
            if (queued < shortest) { best = i; shortest = queued; }
        }
        return best;
    }

    /// <summary>When the first open breaker among the untried lets a probe through (a Stopwatch timestamp); 0 if none is open.</summary>
    public long EarliestProbe(ulong tried)
    {
        long earliest = 0;
        for (ulong rest = All & ~tried; rest != 0; rest &= rest - 1)
        {
            long until = Deployments[BitOperations.TrailingZeroCount(rest)].State.OpenUntil;
            if (until != 0 && (earliest == 0 || until < earliest)) earliest = until;
        }
        return earliest;
    }
}
