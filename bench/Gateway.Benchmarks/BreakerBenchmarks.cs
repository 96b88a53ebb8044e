using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Gateway.Core.Config;
using Gateway.Core.Routing;
using Polly;
using Polly.CircuitBreaker;

namespace Gateway.Benchmarks;

/// <summary>
/// Our per-deployment breaker against Polly.Core's, the suggested primitive: what one call
/// costs to go through it (a success), and what a pick costs to ask whether a deployment is open.
/// Both with a failure ratio over a 30 s window.
/// </summary>
[MemoryDiagnoser]
public class BreakerBenchmarks
{
    private static readonly BreakerConfig Breaker = new() { FailureRatio = 0.5, MinimumCalls = 20, Window = TimeSpan.FromSeconds(30) };
    private readonly DeploymentState _state = new();
    private CircuitBreakerStateProvider _pollyState = null!;
    private ResiliencePipeline _polly = null!;

    [GlobalSetup]
    public void Setup()
    {
        _pollyState = new CircuitBreakerStateProvider();
        _polly = new ResiliencePipelineBuilder()
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = 0.5,
                MinimumThroughput = 20,
                SamplingDuration = TimeSpan.FromSeconds(30),
                BreakDuration = TimeSpan.FromSeconds(30),
                StateProvider = _pollyState,
            })
            .Build();
    }

    /// <summary>Ours: the call starts (in-flight count) and ends with a success (latency average, health window).</summary>
    [Benchmark(Baseline = true)]
    public bool Ours_RecordASuccess()
    {
        _state.Started();
        _state.Finished(true, 1000, Stopwatch.GetTimestamp(), Breaker);
        return _state.IsOpen;
    }

    /// <summary>Polly.Core: a synchronous callback executed through the breaker (the pipeline records its outcome).</summary>
    [Benchmark]
    public int Polly_ExecuteASuccess() => _polly.Execute(static () => 42);

    [Benchmark]
    public bool Ours_IsOpen() => _state.IsOpen;

    [Benchmark]
    public bool Polly_IsOpen() => _pollyState.CircuitState != CircuitState.Closed;
}
