using System.Numerics;
using Gateway.Core.Config;

namespace Gateway.Core.Routing;

/// <summary>Picks one of a group's candidate deployments (a non-empty bit mask) for one attempt. Allocation-free.</summary>
public interface IRoutingStrategy
{
    int Pick(DeploymentGroup group, ulong candidates, in RoutingRequest request);
}

public static class RoutingStrategies
{
    private static readonly IRoutingStrategy Weighted = new WeightedStrategy();
    private static readonly IRoutingStrategy RoundRobin = new RoundRobinStrategy();
    private static readonly IRoutingStrategy LeastBusy = new LeastBusyStrategy();
    private static readonly IRoutingStrategy LowestLatency = new LowestLatencyStrategy();
    private static readonly IRoutingStrategy LowestCost = new LowestCostStrategy();

    public static IRoutingStrategy For(RoutingStrategy strategy) => strategy switch
    {
        RoutingStrategy.RoundRobin => RoundRobin,
        RoutingStrategy.LeastBusy => LeastBusy,
        RoutingStrategy.LowestLatency => LowestLatency,
        RoutingStrategy.LowestCost => LowestCost,
        _ => Weighted,
    };

    /// <summary>The n-th set bit of a mask (n from 0).</summary>
    internal static int NthCandidate(ulong candidates, int n)
    {
        for (; n > 0; n--) candidates &= candidates - 1;
        return BitOperations.TrailingZeroCount(candidates);
    }

    internal static int RandomCandidate(DeploymentGroup group, ulong candidates) => NthCandidate(candidates, group.Random.Next(BitOperations.PopCount(candidates)));
}

/// <summary>Each deployment gets a share of traffic in proportion to its weight.</summary>
public sealed class WeightedStrategy : IRoutingStrategy
{
    public int Pick(DeploymentGroup group, ulong candidates, in RoutingRequest request)
    {
        var deployments = group.Deployments;
        long total = 0;
        for (ulong rest = candidates; rest != 0; rest &= rest - 1) total += deployments[BitOperations.TrailingZeroCount(rest)].Config.Weight;
        long point = group.Random.NextInt64(total);
        for (ulong rest = candidates; rest != 0; rest &= rest - 1)
        {
            int i = BitOperations.TrailingZeroCount(rest);
            point -= deployments[i].Config.Weight;
            if (point < 0) return i;
        }
        return BitOperations.TrailingZeroCount(candidates);
    }
}

/// <summary>Deployments in turn.</summary>
public sealed class RoundRobinStrategy : IRoutingStrategy
{
    public int Pick(DeploymentGroup group, ulong candidates, in RoutingRequest request) =>
        RoutingStrategies.NthCandidate(candidates, group.NextCursor() % BitOperations.PopCount(candidates));
}

/// <summary>The deployment with the fewest calls in flight; ties broken at random.</summary>
public sealed class LeastBusyStrategy : IRoutingStrategy
{
    public int Pick(DeploymentGroup group, ulong candidates, in RoutingRequest request)
    {
        int best = -1, bestLoad = int.MaxValue, ties = 0;
        for (ulong rest = candidates; rest != 0; rest &= rest - 1)
        {
            int i = BitOperations.TrailingZeroCount(rest);
            int load = group.Deployments[i].State.InFlight;
            if (load < bestLoad) { best = i; bestLoad = load; ties = 1; }
            else if (load == bestLoad && group.Random.Next(++ties) == 0) best = i;
        }
        return best;
    }
}

/// <summary>
/// Power of two choices on the latency average: two candidates at random, the faster wins. Traffic
/// moves away from a slowed deployment without all of it stampeding to one; a deployment with no
/// measurement yet counts as fastest, so it gets measured.
/// </summary>
public sealed class LowestLatencyStrategy : IRoutingStrategy
{
    public int Pick(DeploymentGroup group, ulong candidates, in RoutingRequest request)
    {
        int count = BitOperations.PopCount(candidates);
        if (count == 1) return BitOperations.TrailingZeroCount(candidates);
        int first = group.Random.Next(count), second = group.Random.Next(count - 1);
        if (second >= first) second++;
        int a = RoutingStrategies.NthCandidate(candidates, first), b = RoutingStrategies.NthCandidate(candidates, second);
        return group.Deployments[b].State.LatencyTicks < group.Deployments[a].State.LatencyTicks ? b : a;
    }
}

/// <summary>The deployment whose prices make this request cheapest (estimated prompt and expected output tokens); ties go to the first.</summary>
public sealed class LowestCostStrategy : IRoutingStrategy
{
    public int Pick(DeploymentGroup group, ulong candidates, in RoutingRequest request)
    {
        int best = -1;
        double bestCost = double.MaxValue;
        for (ulong rest = candidates; rest != 0; rest &= rest - 1)
        {
            int i = BitOperations.TrailingZeroCount(rest);
            var config = group.Deployments[i].Config;
            double cost = request.EstimatedPromptTokens * config.InputPrice + request.ExpectedOutputTokens * config.OutputPrice;
            if (cost < bestCost) { best = i; bestCost = cost; }
        }
        return best;
    }
}
