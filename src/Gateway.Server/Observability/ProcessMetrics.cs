using System.Globalization;

namespace Gateway.Server.Observability;

/// <summary>
/// The process and the .NET runtime as a scrape sees them: CPU, memory, file descriptors and threads
/// under the names every Prometheus client library uses (<c>process_*</c>), and the garbage collector,
/// thread pool and lock contention under the names of .NET's own runtime metrics (<c>dotnet.*</c>, in
/// Prometheus form). Read when scraped, never on the request path. CPU comes from getrusage; the other
/// process figures from <c>/proc/self</c> on Linux, and elsewhere only resident memory is known.
/// </summary>
internal static class ProcessMetrics
{
    // The kernel reports a process's start in USER_HZ, which Linux fixes at 100 for user space on every architecture.
    private const double TicksPerSecond = 100;

    /// <summary>One reading.</summary>
    internal readonly record struct Reading(
        double CpuUserSeconds, double CpuSystemSeconds, long ResidentBytes, long VirtualBytes, double StartTimeSeconds,
        long Threads, long OpenFds, long MaxFds,
        long Gen0Collections, long Gen1Collections, long Gen2Collections, long AllocatedBytes, double PauseSeconds,
        long[] HeapSizes, long ThreadPoolThreads, long ThreadPoolQueue, long ThreadPoolCompleted, long LockContentions);

    private static readonly Lazy<double> BootTime = new(ReadBootTime);

    public static Reading Read()
    {
        // getrusage's microseconds, finer than /proc's ticks of 10 ms.
        var cpu = Environment.CpuUsage;
        long resident = -1, virtualBytes = -1, threads = -1, openFds = -1, maxFds = -1;
        double start = -1;
        if (!OperatingSystem.IsLinux()) resident = Environment.WorkingSet;
        else if (TryReadStat(out var stat))
        {
            resident = stat.ResidentPages * Environment.SystemPageSize;
            virtualBytes = stat.VirtualBytes;
            threads = stat.Threads;
            if (BootTime.Value >= 0) start = BootTime.Value + stat.StartTicks / TicksPerSecond;
            openFds = CountOpenFds();
            maxFds = ReadMaxFds();
        }
        long gen2 = GC.CollectionCount(2), gen1 = GC.CollectionCount(1), gen0 = GC.CollectionCount(0);
        return new Reading(cpu.UserTime.TotalSeconds, cpu.PrivilegedTime.TotalSeconds, resident, virtualBytes, start, threads, openFds, maxFds,
            // A collection of a generation also counts as one of every younger generation; each is counted once here.
            gen0 - gen1, gen1 - gen2, gen2, GC.GetTotalAllocatedBytes(), GC.GetTotalPauseDuration().TotalSeconds,
            HeapSizes(), ThreadPool.ThreadCount, ThreadPool.PendingWorkItemCount, ThreadPool.CompletedWorkItemCount,
            Monitor.LockContentionCount);
    }

    /// <summary>The generations' names in the order <see cref="GCMemoryInfo.GenerationInfo"/> gives them.</summary>
    public static readonly string[] Generations = ["gen0", "gen1", "gen2", "loh", "poh"];

    /// <summary>Each generation's size after the last collection, in the order of <see cref="Generations"/>.</summary>
    private static long[] HeapSizes()
    {
        var info = GC.GetGCMemoryInfo().GenerationInfo;
        var sizes = new long[Generations.Length];
        for (int i = 0; i < sizes.Length && i < info.Length; i++) sizes[i] = info[i].SizeAfterBytes;
        return sizes;
    }

    private readonly record struct Stat(long Threads, long StartTicks, long VirtualBytes, long ResidentPages);

    /// <summary><c>/proc/self/stat</c>: fields 20 (num_threads) and 22-24 (starttime, vsize, rss).</summary>
    private static bool TryReadStat(out Stat stat)
    {
        stat = default;
        string text;
        try
        {
            text = File.ReadAllText("/proc/self/stat");
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
        // The command name (field 2) is in parentheses and may hold spaces: count fields after its last ')'.
        int close = text.LastIndexOf(')');
        if (close < 0) return false;
        var fields = text[(close + 2)..].Split(' ');
        // fields[0] is field 3 (state), so field n is fields[n - 3].
        if (fields.Length < 22) return false;
        static long At(string[] f, int n) => long.TryParse(f[n - 3], NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) ? v : 0;
        stat = new Stat(At(fields, 20), At(fields, 22), At(fields, 23), At(fields, 24));
        return true;
    }

    private static long CountOpenFds()
    {
        try
        {
            long count = 0;
            foreach (var _ in Directory.EnumerateFileSystemEntries("/proc/self/fd")) count++;
            // The enumeration's own descriptor is among them.
            return Math.Max(0, count - 1);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return -1;
        }
    }

    /// <summary>The soft limit on open files (<c>/proc/self/limits</c>, "Max open files"); -1 when unknown or unlimited.</summary>
    private static long ReadMaxFds()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/limits"))
            {
                if (!line.StartsWith("Max open files", StringComparison.Ordinal)) continue;
                var parts = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return parts.Length > 0 && long.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out long soft) ? soft : -1;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
        return -1;
    }

    /// <summary>The boot time in Unix seconds (<c>/proc/stat</c>, "btime"): a process's start is counted from it.</summary>
    private static double ReadBootTime()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/stat"))
                if (line.StartsWith("btime ", StringComparison.Ordinal)
                    && long.TryParse(line.AsSpan(6).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long seconds))
                    return seconds;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
        return -1;
    }
}
