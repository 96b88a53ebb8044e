using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Gateway.Server.FunctionalTests.Admin;
using Gateway.Server.FunctionalTests.Infrastructure;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Observability;

/// <summary>
/// <c>/metrics</c> for the process and the runtime. The gateway under test runs in this test's own process,
/// so each figure is held against what the test reads of itself from <c>/proc/self</c> and the runtime, or
/// moved by something the test does between two scrapes.
/// </summary>
public sealed class ProcessMetricsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gw-process-metrics-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Regex SampleLine() => MetricsTests.SampleLine();

    private static async Task<string> ScrapeAsync(GatewayUnderTest gateway)
    {
        using var response = await gateway.Client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>The one sample named <paramref name="name"/> with exactly <paramref name="labels"/> (none when empty).</summary>
    private static double Value(string text, string name, string labels = "")
    {
        var found = text.Split('\n').Select(l => SampleLine().Match(l))
            .Where(m => m.Success && m.Groups["name"].Value == name && m.Groups["labels"].Value == labels).ToArray();
        Assert.True(found.Length == 1, $"{name}{{{labels}}}: {found.Length} samples in\n{text}");
        return double.Parse(found[0].Groups["value"].Value, CultureInfo.InvariantCulture);
    }

    private static long ProcStatus(string field) =>
        long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal))[(field.Length + 1)..]
            .Trim().Split(' ')[0], CultureInfo.InvariantCulture);

    [Fact]
    public async Task ProcessFigures_AreThoseOfTheProcess()
    {
        await using var gateway = await StartAsync();
        string text = await ScrapeAsync(gateway);
        foreach (var family in new[] { "process_cpu_seconds_total counter", "process_resident_memory_bytes gauge", "process_virtual_memory_bytes gauge",
            "process_start_time_seconds gauge", "process_open_fds gauge", "process_max_fds gauge", "process_threads gauge" })
            Assert.Contains("# TYPE " + family + "\n", text, StringComparison.Ordinal);

        double rss = Value(text, "process_resident_memory_bytes");
        double vmRss = ProcStatus("VmRSS") * 1024.0;
        Assert.InRange(rss, vmRss * 0.75, vmRss * 1.25);
        double threads = Value(text, "process_threads");
        Assert.InRange(threads, ProcStatus("Threads") / 2.0, ProcStatus("Threads") * 2.0);
        var started = new DateTimeOffset(Process.GetCurrentProcess().StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0;
        Assert.InRange(Value(text, "process_start_time_seconds"), started - 1.5, started + 1.5);
        var limit = Process.Start(new ProcessStartInfo("bash", ["-c", "ulimit -n"]) { RedirectStandardOutput = true })!;
        string soft = (await limit.StandardOutput.ReadToEndAsync()).Trim();
        await limit.WaitForExitAsync();
        if (soft != "unlimited") Assert.Equal(double.Parse(soft, CultureInfo.InvariantCulture), Value(text, "process_max_fds"));
        else Assert.DoesNotContain("process_max_fds", text, StringComparison.Ordinal);

        // 64 more open files, and a quarter of a second of this thread's CPU, show in the next scrape.
        double fdsBefore = Value(text, "process_open_fds"), cpuBefore = Value(text, "process_cpu_seconds_total");
        var files = Enumerable.Range(0, 64).Select(i => File.Create(Path.Combine(_dir, $"f{i}"))).ToArray();
        try
        {
            var burn = Stopwatch.StartNew();
            var ownCpu = Environment.CpuUsage.TotalTime;
            ulong spin = 0;
            while ((Environment.CpuUsage.TotalTime - ownCpu).TotalMilliseconds < 250 || burn.ElapsedMilliseconds < 250) spin++;
            Assert.NotEqual(0UL, spin);
            text = await ScrapeAsync(gateway);
            Assert.InRange(Value(text, "process_open_fds") - fdsBefore, 48, 64 + 48);
            Assert.True(Value(text, "process_cpu_seconds_total") - cpuBefore >= 0.24, text);
        }
        finally
        {
            foreach (var file in files) file.Dispose();
        }
    }

    [Fact]
    public async Task RuntimeFigures_MoveWithWhatTheProcessDoes()
    {
        await using var gateway = await StartAsync();
        string before = await ScrapeAsync(gateway);
        foreach (var family in new[] { "dotnet_gc_collections_total counter", "dotnet_gc_heap_total_allocated_bytes_total counter",
            "dotnet_gc_pause_time_seconds_total counter", "dotnet_gc_last_collection_heap_size_bytes gauge", "dotnet_thread_pool_thread_count gauge",
            "dotnet_thread_pool_queue_length gauge", "dotnet_thread_pool_work_item_count_total counter", "dotnet_monitor_lock_contentions_total counter" })
            Assert.Contains("# TYPE " + family + "\n", before, StringComparison.Ordinal);

        // 64 MB allocated, a full collection, and 200 work items run on the thread pool.
        var kept = new List<byte[]>();
        for (int i = 0; i < 64; i++) kept.Add(new byte[1 << 20]);
        GC.KeepAlive(kept);
        kept.Clear();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true);
        await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => Task.Run(() => { })));
        string after = await ScrapeAsync(gateway);

        Assert.True(Value(after, "dotnet_gc_heap_total_allocated_bytes_total") - Value(before, "dotnet_gc_heap_total_allocated_bytes_total") >= 64 << 20);
        Assert.True(Value(after, "dotnet_gc_collections_total", "gc_heap_generation=\"gen2\"") > Value(before, "dotnet_gc_collections_total", "gc_heap_generation=\"gen2\""));
        Assert.True(Value(after, "dotnet_gc_pause_time_seconds_total") > Value(before, "dotnet_gc_pause_time_seconds_total"));
        Assert.True(Value(after, "dotnet_thread_pool_work_item_count_total") - Value(before, "dotnet_thread_pool_work_item_count_total") >= 200);
        Assert.True(Value(after, "dotnet_thread_pool_thread_count") >= 1);
        // Each collection counts once, under the oldest generation it collected: the three add up to the runtime's gen0 count.
        double collections = new[] { "gen0", "gen1", "gen2" }.Sum(g => Value(after, "dotnet_gc_collections_total", $"gc_heap_generation=\"{g}\""));
        Assert.InRange(collections, 1, GC.CollectionCount(0));
        foreach (string generation in new[] { "gen0", "gen1", "gen2", "loh", "poh" })
            Assert.True(Value(after, "dotnet_gc_last_collection_heap_size_bytes", $"gc_heap_generation=\"{generation}\"") >= 0);
    }

    [Fact]
    public async Task PolicyWorkers_AreReportedOnceAPolicyRuns_WithTheCallsWaiting()
    {
        await using (var plain = await StartAsync())
            Assert.DoesNotContain("gateway_policy_", await ScrapeAsync(plain), StringComparison.Ordinal);

        string file = Path.Combine(_dir, "slow.js");
        File.WriteAllText(file, "export function onRequest(req) { const end = Date.now() + 600; while (Date.now() < end) {} }");
        await using var gateway = await StartAsync(configJson: $$"""
            {
              "server": { "policyWorkers": 1, "policyQueueMs": 10000 },
              "policies": [ { "file": "{{file}}", "limits": { "timeoutMs": 5000, "maxStatements": 2000000000, "maxMemoryBytes": 100000000000 } } ]
            }
            """);
        string idle = await ScrapeAsync(gateway);
        Assert.Equal(1, Value(idle, "gateway_policy_workers"));
        Assert.Equal(0, Value(idle, "gateway_policy_calls_queued"));
        Assert.Equal(0, Value(idle, "gateway_policy_workers_stuck"));

        var calls = Enumerable.Range(0, 3).Select(_ => gateway.ChatAsync(MasterKey, "mock/echo", "slow")).ToArray();
        double queued = 0;
        for (var deadline = DateTime.UtcNow.AddSeconds(5); queued == 0 && DateTime.UtcNow < deadline;)
        {
            queued = Value(await ScrapeAsync(gateway), "gateway_policy_calls_queued");
            if (queued == 0) await Task.Delay(20);
        }
        Assert.InRange(queued, 1, 2);
        Assert.All(await Task.WhenAll(calls), r => Assert.Equal(200, r.Status));
        Assert.Equal(0, Value(await ScrapeAsync(gateway), "gateway_policy_calls_queued"));
    }

    [Fact]
    public async Task TheExposition_IsOneTypeLinePerFamily_AndSamplesOnly()
    {
        await using var gateway = await StartAsync();
        Assert.Equal(200, (await gateway.ChatAsync(MasterKey, "mock/echo", "hello")).Status);
        var lines = (await ScrapeAsync(gateway)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var types = lines.Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).ToArray();
        Assert.Equal(types.Length, types.Distinct().Count());
        foreach (string line in lines.Where(l => !l.StartsWith('#')))
        {
            var m = SampleLine().Match(line);
            Assert.True(m.Success, line);
            Assert.True(double.TryParse(m.Groups["value"].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out _), line);
            string name = m.Groups["name"].Value;
            Assert.Contains(types, t => name == t || name.StartsWith(t + "_", StringComparison.Ordinal));
        }
    }
}
