using Gateway.Core.Threading;

namespace Gateway.Core.Tests.Threading;

public class IoThreadTests
{
    [Fact]
    public async Task Leave_MovesOffANonPoolThread_AndStaysOnThePool()
    {
        // Many times over: the hop must hold every time, not only when the pool happens to be slow.
        var onPool = new List<bool>();
        var thread = new Thread(() =>
        {
            async Task Run()
            {
                await IoThread.Leave();
                onPool.Add(Thread.CurrentThread.IsThreadPoolThread);
            }
            for (int i = 0; i < 500; i++) Run().GetAwaiter().GetResult();
        });
        thread.Start();
        thread.Join();
        Assert.Equal(500, onPool.Count);
        Assert.All(onPool, Assert.True);

        await Task.Run(async () =>
        {
            int before = Environment.CurrentManagedThreadId;
            await IoThread.Leave();
            Assert.Equal(before, Environment.CurrentManagedThreadId); // already on the pool: no hop
        });
    }
}
