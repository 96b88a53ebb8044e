using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Gateway.Server.Hosting;

/// <summary>
/// A thread of its own for background work that must not compete with requests for a core (the request
/// log's batched writes): on Linux it runs at a higher nice value, so the scheduler lets a request's
/// thread that wakes take the core from it, and gives it a smaller share while requests need the CPU.
/// Work runs one item at a time, in order.
/// </summary>
internal sealed class LowPriorityThread : IDisposable
{
    private readonly BlockingCollection<Action> _work = [];
    private readonly Thread _thread;
    private readonly Lock _gate = new();
    private bool _stopped;

    /// <param name="nice">The nice value (0-19) the thread runs at; raising it needs no privilege.</param>
    public LowPriorityThread(string name, int nice)
    {
        Nice = nice;
        _thread = new Thread(Loop) { IsBackground = true, Name = name };
        _thread.Start();
    }

    public int Nice { get; }

    /// <summary>Whether the nice value was applied (false off Linux, or if the kernel refused).</summary>
    public bool Applied { get; private set; }

    /// <summary>Runs <paramref name="work"/> on the thread; once the thread has stopped, on the caller's (what is left at shutdown still runs).</summary>
    public Task<T> RunAsync<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Run()
        {
            try
            {
                done.SetResult(work());
            }
            catch (Exception ex)
            {
                done.SetException(ex);
            }
        }
        lock (_gate)
        {
            if (!_stopped)
            {
                _work.Add(Run);
                return done.Task;
            }
        }
        Run();
        return done.Task;
    }

    private void Loop()
    {
        // On Linux, setpriority(PRIO_PROCESS, 0, n) applies to the calling thread alone.
        if (OperatingSystem.IsLinux()) Applied = SystemNative_SetPriority(0, 0, Nice) == 0;
        foreach (var work in _work.GetConsumingEnumerable()) work();
    }

    /// <summary>Runs what was queued, then stops the thread. Safe to call more than once.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_stopped) return;
            _stopped = true;
            _work.CompleteAdding();
        }
        _thread.Join();
    }

#pragma warning disable SYSLIB1054 // blittable arguments: no generated marshalling needed
    [DllImport("libSystem.Native")]
    private static extern int SystemNative_SetPriority(int which, int who, int nice);
#pragma warning restore SYSLIB1054
}
