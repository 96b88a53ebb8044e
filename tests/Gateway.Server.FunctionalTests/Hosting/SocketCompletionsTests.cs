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
}
