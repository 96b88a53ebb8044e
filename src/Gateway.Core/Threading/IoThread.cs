using System.Runtime.CompilerServices;

namespace Gateway.Core.Threading;

/// <summary>
/// The binary runs socket completions inline on the runtime's epoll threads, so code after an
/// upstream read may run there. Work that may take long (a JavaScript policy, translating a large
/// answer) first moves to the thread pool: <c>await IoThread.Leave();</c>, so other sockets are not stalled.
/// </summary>
public static class IoThread
{
    /// <summary>
    /// An awaitable rather than an async method: with an async helper the pool could finish it before
    /// the caller awaits it, and the caller would go on, inline, on the epoll thread after all.
    /// </summary>
    public static ThreadPoolHop Leave() => default;

    /// <summary>Completed on a thread-pool thread; elsewhere queues the continuation to the pool.</summary>
    public readonly struct ThreadPoolHop : ICriticalNotifyCompletion
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
