using BenchmarkDotNet.Attributes;
using Gateway.Core.Governance;
using Gateway.Storage.Redis;

namespace Gateway.Benchmarks;

/// <summary>
/// One request's admission and settlement against a key with rpm, tpm and a budget: counted in this process
/// (one node) or in Redis (replicas: one Lua script to admit, one to settle, over loopback). Needs a Redis:
/// GATEWAY_BENCH_REDIS_URL=redis://127.0.0.1:PORT (tests/servers.sh start DIR starts one).
/// </summary>
[MemoryDiagnoser]
public class AdmissionBenchmarks
{
    private Governor _local = null!;
    private RedisConnection _redis = null!;
    private RedisGovernor _shared = null!;
    private GovernedScope[] _scopes = null!;

    [GlobalSetup]
    public void Setup()
    {
        var budget = new Budget(Budget.ToNanos(1_000_000m), BudgetPeriod.Month);
        _scopes = [new GovernedScope("key", "bench-key", new RateLimits(2_000_000_000, 2_000_000_000), budget, new ScopeCounters("key", "bench-key"))];
        _local = new Governor(TimeProvider.System);
        string url = Environment.GetEnvironmentVariable("GATEWAY_BENCH_REDIS_URL")
            ?? throw new InvalidOperationException("set GATEWAY_BENCH_REDIS_URL=redis://127.0.0.1:PORT (tests/servers.sh start DIR starts one)");
        _redis = RedisConnection.Open(url, "bench-" + Guid.NewGuid().ToString("N"));
        _shared = new RedisGovernor(_redis);
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        _shared.SeedAsync(_scopes[0], Budget.PeriodStart(BudgetPeriod.Month, now), 0, now).AsTask().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup() => _redis.Dispose();

    [Benchmark(Baseline = true)]
    public void InProcess()
    {
        _local.Admit(_scopes, 1, 5_000, out var reservation);
        _local.Settle(reservation, 1, 4_000);
    }

    [Benchmark]
    public async Task Redis()
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var admitted = await _shared.AdmitAsync(_scopes, 1, 5_000, now);
        await _shared.SettleAsync(admitted.Reservation, 1, 4_000, now);
    }
}
