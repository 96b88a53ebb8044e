namespace Gateway.Server.Hosting;

/// <summary>
/// Socket completions run inline on the runtime's epoll threads instead of hopping to the thread
/// pool: measured 12% (JSON) to 19% (streams) less CPU per proxied request (bench/RESULTS.md).
/// The price is that code after an upstream read runs on an epoll thread, so work that may take
/// long (a JavaScript policy) first moves to the thread pool (<see cref="LeaveIoThread"/>).
/// </summary>
internal static class SocketCompletions
{
    /// <summary>The runtime's switch, read once when the first socket is created.</summary>
    public const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Switches inline completions on for this process unless the operator set the variable (0 turns them off).</summary>
    public static void PreferInline()
    {
        if (Environment.GetEnvironmentVariable(Variable) is null) Environment.SetEnvironmentVariable(Variable, "1");
    }

    /// <summary>
    /// Continues on the thread pool when running on an epoll thread, so a long policy does not
    /// stall other sockets: <c>await SocketCompletions.LeaveIoThread();</c>. An awaitable rather than
    /// an async method: with an async helper, the pool could finish it before the caller awaits it,
    /// and the caller would then go on, inline, on the epoll thread after all.
    /// </summary>
    public static ThreadPoolHop LeaveIoThread() => default;

    /// <summary>Completed on a thread-pool thread; elsewhere queues the continuation to the pool.</summary>
    public readonly struct ThreadPoolHop : System.Runtime.CompilerServices.ICriticalNotifyCompletion
    {
        public ThreadPoolHop GetAwaiter() => this;

        public bool IsCompleted => Thread.CurrentThread.IsThreadPoolThread;

        public void GetResult()
        {
        }

        public void OnCompleted(Action continuation) => ThreadPool.QueueUserWorkItem(static c => c(), continuation, preferLocal: false);

        public void UnsafeOnCompleted(Action continuation) => ThreadPool.UnsafeQueueUserWorkItem(static c => c(), continuation, preferLocal: false);
    }
}
