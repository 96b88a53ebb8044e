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

    /// <summary>The deployment's budget with its live spend; null when it has none.</summary>
    public Governance.GovernedScope? Budget { get; init; }

    /// <summary>Its budget has nothing left in the current period (a hint read without a lock: routing skips it).</summary>
    public bool IsOverBudget(long unixMs) => Budget is { Budget: { } budget } scope && scope.Counters.SpentIn(budget, unixMs) >= budget.LimitNanos;
}

/// <summary>What a strategy may weigh about the request.</summary>
/// <param name="EstimatedPromptTokens">
/// The prompt's tokens, counted with a tokenizer when the group weighs them (<see cref="PromptTokens"/>),
/// else about one per four bytes: enough to route by, never used to bill.
/// </param>
/// <param name="ExpectedOutputTokens">The output the request asks room for: its <c>max_tokens</c>, else <see cref="DefaultOutputTokens"/>.</param>
public readonly record struct RoutingRequest(int EstimatedPromptTokens, int ExpectedOutputTokens, ModelCapabilities Needs = ModelCapabilities.None)
{
    public const int DefaultOutputTokens = 256;

    /// <summary>Prompt and output together: what a context window must hold and a tokens-per-minute limit counts.</summary>
    public int TotalTokens => EstimatedPromptTokens + ExpectedOutputTokens;

    /// <summary>
    /// The request's size and needs, from its bytes: tools offered, an image attached, a JSON schema
    /// asked for. A byte scan, not a parse: a message that quotes one of these keys can only make the
    /// gateway prefer a more capable model, never a less capable one. Tokens are counted only when
    /// <paramref name="countTokens"/> (the group prices, sizes or rate-limits by them).
    /// </summary>
    public static RoutingRequest For(ReadOnlySpan<byte> body, bool countTokens = false)
    {
        var needs = ModelCapabilities.None;
        if (body.IndexOf("\"tools\""u8) >= 0) needs |= ModelCapabilities.Tools;
        if (body.IndexOf("\"image_url\""u8) >= 0 || body.IndexOf("\"type\":\"image\""u8) >= 0) needs |= ModelCapabilities.Vision;
        if (body.IndexOf("\"json_schema\""u8) >= 0) needs |= ModelCapabilities.JsonSchema;
        if (!countTokens) return new(body.Length / 4, DefaultOutputTokens, needs);
        var (prompt, maxOutput) = PromptTokens.Count(body);
        return new(prompt, maxOutput > 0 ? maxOutput : DefaultOutputTokens, needs);
    }
}

/// <summary>
/// An alias or group of a snapshot: its deployments, its strategy, its retries and fallbacks.
/// Picking skips deployments already tried by this request and those whose breaker is open,
/// unless nothing else is left.
/// </summary>
public sealed class DeploymentGroup
{
    private int _cursor;

    /// <param name="time">The routing clock: breakers' cool-downs and rate windows are read on it.</param>
    /// <param name="random">Where weighted and random picks draw from (a seeded one in tests).</param>
    public DeploymentGroup(ModelGroupConfig config, Deployment[] deployments, TimeProvider? time = null, Random? random = null)
    {
        Config = config;
        Time = time ?? TimeProvider.System;
        Random = random ?? Random.Shared;
        Deployments = deployments;
        Strategy = RoutingStrategies.For(config.Strategy);
        HasContextWindows = deployments.Any(d => d.Config.ContextWindow > 0);
        WeighsTokens = HasContextWindows || config.Strategy == RoutingStrategy.LowestCost || deployments.Any(d => d.Config.Tpm > 0);
        CountsTokens = WeighsTokens;
    }

    /// <summary>Whether picks here depend on the request's tokens (lowest cost, context windows, tokens per minute).</summary>
    public bool WeighsTokens { get; }

    /// <summary>Whether a request to this group has its tokens counted: it weighs them, or a fallback does.</summary>
    public bool CountsTokens { get; internal set; }

    public string Name => Config.Name;

    /// <summary>The routing clock: every timestamp this group's deployments get comes from it.</summary>
    public TimeProvider Time { get; }

    /// <summary>The source of the group's random picks.</summary>
    public Random Random { get; }
    public ModelGroupConfig Config { get; }

    private readonly bool HasContextWindows;
    public Deployment[] Deployments { get; }
    public IRoutingStrategy Strategy { get; }

    /// <summary>All deployments as a bit mask.</summary>
    public ulong All => Deployments.Length == 64 ? ulong.MaxValue : (1UL << Deployments.Length) - 1;

    internal int NextCursor() => Interlocked.Increment(ref _cursor) & int.MaxValue;

    /// <summary>Returned by <see cref="Pick"/> when no deployment of the group can serve the request at all.</summary>
    public const int NoneCapable = -2;

    /// <summary>The deployments that have what the request needs and room for its size.</summary>
    public ulong Capable(in RoutingRequest request)
    {
        ulong capable = 0;
        for (int i = 0; i < Deployments.Length; i++)
        {
            var config = Deployments[i].Config;
            if (config.Capabilities is { } has && (request.Needs & ~has) != 0) continue;
            if (config.ContextWindow > 0 && request.TotalTokens > config.ContextWindow) continue;
            capable |= 1UL << i;
        }
        return capable;
    }

    /// <summary>The deployment for the next attempt, -1 when every capable one was tried, or <see cref="NoneCapable"/>.</summary>
    /// <param name="tried">Deployments this request already tried (bit i = deployment i).</param>
    public int Pick(ulong tried, in RoutingRequest request)
    {
        ulong capable = request.Needs == ModelCapabilities.None && !HasContextWindows ? All : Capable(request);
        if (capable == 0) return NoneCapable;
        ulong untried = capable & ~tried;
        if (HasBudgets) untried &= ~OverBudget();
        if (untried == 0) return -1;
        long now = Time.GetTimestamp();
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
                var deployment = Deployments[i];
                if (deployment.State.HasCapacity(deployment.Config.MaxConcurrency) && !deployment.State.WindowFull(deployment.Config.Rpm, deployment.Config.Tpm, request.TotalTokens, now))
                    free |= 1UL << i;
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

    /// <summary>Some deployment has a budget.</summary>
    public bool HasBudgets => _hasBudgets ??= Deployments.Any(d => d.Budget is not null);
    private bool? _hasBudgets;

    /// <summary>The deployments whose budget is spent for the current period.</summary>
    public ulong OverBudget()
    {
        long now = Time.GetUtcNow().ToUnixTimeMilliseconds();
        ulong over = 0;
        for (int i = 0; i < Deployments.Length; i++)
            if (Deployments[i].IsOverBudget(now)) over |= 1UL << i;
        return over;
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
