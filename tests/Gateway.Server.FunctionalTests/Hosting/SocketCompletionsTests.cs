using Gateway.Server.Hosting;

namespace Gateway.Server.FunctionalTests.Hosting;

public class SocketCompletionsTests
{
    [Theory]
    [InlineData(null, "1")]
    [InlineData("0", "0")] // the operator turned them off: kept
    [InlineData("1", "1")]
    public void PreferInline_SwitchesThemOnUnlessTheOperatorDecided(string? operatorValue, string expected)
    {
        string? before = Environment.GetEnvironmentVariable(SocketCompletions.Variable);
        try
        {
            Environment.SetEnvironmentVariable(SocketCompletions.Variable, operatorValue);
            SocketCompletions.PreferInline();
            Assert.Equal(expected, Environment.GetEnvironmentVariable(SocketCompletions.Variable));
        }
        finally
        {
            Environment.SetEnvironmentVariable(SocketCompletions.Variable, before);
        }
    }

    [Fact]
    public async Task LeaveIoThread_MovesOffANonPoolThread_AndStaysOnThePool()
    {
        // Many times over: the hop must hold every time, not only when the pool happens to be slow.
        var onPool = new List<bool>();
        var thread = new Thread(() =>
        {
            async Task Run()
            {
                await SocketCompletions.LeaveIoThread();
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
            await SocketCompletions.LeaveIoThread();
            Assert.Equal(before, Environment.CurrentManagedThreadId); // already on the pool: no hop
        });
    }
}
