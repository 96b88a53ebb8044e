using Gateway.Server.Cli;

namespace Gateway.Server.FunctionalTests.Cli;

public class GatewayCliTests
{
    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await GatewayCli.RunAsync(args, stdout, stderr, new StringReader("typed-key\n"));
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task ConfigCheck_ValidFile_ExitsZero()
    {
        string path = Path.GetTempFileName();
        await File.WriteAllTextAsync(path, """{ "models": { "fast": "mock/echo" } }""");
        var (code, output, _) = await Run("config", "check", path);
        Assert.Equal(0, code);
        Assert.Contains("valid", output);
    }

    [Fact]
    public async Task ConfigCheck_InvalidFile_ExitsNonZeroNamingEveryProblem()
    {
        string path = Path.GetTempFileName();
        await File.WriteAllTextAsync(path, """{ "server": { "maxBodyBytes": 0 }, "providers": { "x": { "type": "nope" } } }""");
        var (code, _, errors) = await Run("config", "check", path);
        Assert.Equal(1, code);
        Assert.Contains("server.maxBodyBytes", errors);
        Assert.Contains("providers.x.type", errors);
    }

    [Fact]
    public async Task KeysHash_FromStdin_PrintsSha256Line()
    {
        var (code, output, _) = await Run("keys", "hash");
        Assert.Equal(0, code);
        Assert.Equal(Gateway.Core.Config.KeyHashing.Format(Gateway.Core.Config.KeyHashing.Hash("typed-key")), output.Trim());
    }

    [Fact]
    public async Task UnknownCommand_ExitsTwoWithUsage()
    {
        var (code, _, errors) = await Run("frobnicate");
        Assert.Equal(2, code);
        Assert.Contains("usage:", errors);
    }

    [Fact]
    public async Task Serve_MissingConfigFile_ExitsTwo()
    {
        var (code, _, errors) = await Run("serve", "--config", "/nonexistent/gateway.json");
        Assert.Equal(2, code);
        Assert.Contains("does not exist", errors);
    }
}
