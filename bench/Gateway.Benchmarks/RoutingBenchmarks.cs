using BenchmarkDotNet.Attributes;
using Gateway.Core.Config;
using Gateway.Core.Providers;
using Gateway.Core.Routing;

namespace Gateway.Benchmarks;

/// <summary>Picking a deployment for an attempt: every strategy over a four-deployment group, with one breaker open.</summary>
[MemoryDiagnoser]
public class RoutingBenchmarks
{
    private sealed class NoProvider(string name) : IProvider
    {
        public string Name { get; } = name;
        public ProviderConfig Config { get; } = new() { Name = name, Type = "mock" };
        public ValueTask<UpstreamResult> SendAsync(ProviderCall call, CancellationToken cancellationToken) => throw new NotSupportedException();
        public ValueTask<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    private readonly Dictionary<RoutingStrategy, DeploymentGroup> _groups = [];
    private readonly RoutingRequest _request = new(500, 256);

    [Params(RoutingStrategy.Weighted, RoutingStrategy.RoundRobin, RoutingStrategy.LeastBusy, RoutingStrategy.LowestLatency, RoutingStrategy.LowestCost)]
    public RoutingStrategy Strategy { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var states = new DeploymentStates();
        DeploymentConfig[] deployments =
        [
            new("openai", "gpt-4o-mini", 3) { InputPrice = 0.15, OutputPrice = 0.6 },
            new("anthropic", "claude-haiku-4-5", 1) { InputPrice = 1, OutputPrice = 5 },
            new("gemini", "gemini-2.5-flash", 2) { InputPrice = 0.3, OutputPrice = 2.5 },
            new("azure", "gpt-4o-mini", 1) { InputPrice = 0.15, OutputPrice = 0.6 },
        ];
        var config = new ModelGroupConfig("g", deployments) { Strategy = Strategy };
        var group = new DeploymentGroup(config, [.. deployments.Select(d => new Deployment(new RouteTarget(new NoProvider(d.Provider), d.Model), d, states.Get(d.Provider, d.Model)))]);
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        foreach (var d in group.Deployments) { d.State.Started(); d.State.Finished(true, 1000 + d.Config.Weight, now); }
        for (int i = 0; i < DeploymentState.FailuresToOpen; i++) { group.Deployments[3].State.Started(); group.Deployments[3].State.Finished(false, 0, now); }
        _groups[Strategy] = group;
    }

    [Benchmark]
    public int Pick() => _groups[Strategy].Pick(0, _request);

    /// <summary>A retry: the first pick excluded.</summary>
    [Benchmark]
    public int PickExcludingOne() => _groups[Strategy].Pick(0b1, _request);
}
