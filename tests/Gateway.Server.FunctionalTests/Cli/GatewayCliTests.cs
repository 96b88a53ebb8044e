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
    public async Task Db_StatusThenMigrateThenStatus_AgainstTheConfiguredFile()
    {
        string dir = Directory.CreateTempSubdirectory("gw-db-cli-").FullName;
        string config = Path.Combine(dir, "gateway.json");
        string store = Path.Combine(dir, "store", "gw.db");
        await File.WriteAllTextAsync(config, $$"""{ "storage": { "database": "sqlite:{{store}}" } }""");
        var before = await Run("db", "status", "--config", config);
        Assert.Equal((0, $"{store}: no store yet (schema version 0 of {Gateway.Storage.Migrations.SchemaMigrations.Latest}); the gateway makes it when it first needs it"),
            (before.Code, before.Out.Trim()));
        var migrate = await Run("db", "migrate", "--config", config);
        Assert.Equal((0, $"{store}: schema version 0 -> {Gateway.Storage.Migrations.SchemaMigrations.Latest}"), (migrate.Code, migrate.Out.Trim()));
        var after = await Run("db", "status", "--config", config);
        Assert.StartsWith($"{store}: schema version {Gateway.Storage.Migrations.SchemaMigrations.Latest} of {Gateway.Storage.Migrations.SchemaMigrations.Latest} (SQLite 3.", after.Out, StringComparison.Ordinal);
        await File.WriteAllTextAsync(config, """{ "storage": { "database": "mysql://root:hunter2@db/gw" } }""");
        var refused = await Run("db", "status", "--config", config);
        Assert.Equal(1, refused.Code);
        Assert.DoesNotContain("hunter2", refused.Err, StringComparison.Ordinal);
        var check = await Run("config", "check", config);
        Assert.Equal(1, check.Code);
        Assert.Contains("error: storage.database: 'mysql:...' is not supported", check.Err, StringComparison.Ordinal);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(dir, recursive: true);
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

    private static string Temp(string name, string text)
    {
        string dir = Directory.CreateTempSubdirectory("gw-cli-").FullName;
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private const string RequestJson = """{"model":"openai/gpt-4o","messages":[{"role":"user","content":"mail a@b.co"}]}""";

    [Fact]
    public async Task PolicyTest_Changed_PrintsTheRequestAndTimings()
    {
        string policy = Temp("redact.js", "export function onRequest(req) { req.messages[0].content = req.messages[0].content.replace('a@b.co', '[email]'); return req; }");
        var (code, output, _) = await Run("policy", "test", policy, "--request", Temp("req.json", RequestJson));
        Assert.Equal(0, code);
        Assert.Contains("onRequest: changed (", output);
        Assert.Contains("warm)", output);
        Assert.Contains("\"content\":\"mail [email]\"", output);
    }

    [Fact]
    public async Task PolicyTest_RejectAndOnResponse_AreDecisionsNotFailures()
    {
        string policy = Temp("guard.js", """
            export function onRequest(req, ctx) { return { reject: { status: 403, message: 'no ' + ctx.model } }; }
            export function onResponse(res) { res.checked = true; return res; }
            """);
        var (code, output, _) = await Run("policy", "test", policy, "--request", Temp("req.json", RequestJson),
            "--response", Temp("res.json", """{"id":"c","choices":[]}"""));
        Assert.Equal(0, code);
        Assert.Contains("onRequest: rejects with 403: no openai/gpt-4o", output);
        Assert.Contains("\"checked\":true", output);
    }

    [Theory]
    [InlineData("export function onRequest(req) { for (;;) {} }", "FAILED (limit)")]
    [InlineData("export function onRequest(req) { throw new Error('bad'); }", "FAILED: ")]
    [InlineData("export function onRequest(req { }", "compile: redact.js:1:")]
    public async Task PolicyTest_ThrowLimitOrSyntax_ExitsOne(string code, string expected)
    {
        string policy = Temp("redact.js", code);
        var (exit, _, errors) = await Run("policy", "test", policy, "--request", Temp("req.json", RequestJson));
        Assert.Equal(1, exit);
        Assert.Contains(expected, errors);
    }

    [Fact]
    public async Task ConfigCheck_PolicyThatDoesNotCompile_ExitsOne()
    {
        string policy = Temp("broken.js", "export function onRequest(req {");
        string config = Path.Combine(Path.GetDirectoryName(policy)!, "gateway.json");
        await File.WriteAllTextAsync(config, """{ "policies": [ { "file": "broken.js" } ] }""");
        var (code, _, errors) = await Run("config", "check", config);
        Assert.Equal(1, code);
        Assert.Contains("broken.js:1:", errors);
    }

    [Fact]
    public async Task ConfigCheck_Offline_NeedsNoSecrets_AndWarnsOfKeysForUnknownModels()
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("gw-cli-").FullName, "gateway.json");
        string hash = Gateway.Core.Config.KeyHashing.Format(Gateway.Core.Config.KeyHashing.Hash("k"));
        await File.WriteAllTextAsync(path, $$"""
            {
              "providers": { "vendor": { "type": "openai", "apiKey": "env:GATEWAY_TEST_UNSET_SECRET_9F2" } },
              "models": { "fast": "vendor/m" },
              "keys": [ { "id": "team", "hash": "{{hash}}", "models": ["fast", "vendor/other", "typo-model", "gpt-*"] } ]
            }
            """);
        var (online, _, onlineErrors) = await Run("config", "check", path);
        Assert.Equal(1, online);
        Assert.Contains("GATEWAY_TEST_UNSET_SECRET_9F2 is not set", onlineErrors);
        var (offline, output, _) = await Run("config", "check", "--offline", path);
        Assert.Equal(0, offline);
        Assert.Contains("warning: keys[0] (team).models: 'typo-model'", output);
        Assert.DoesNotContain("'fast'", output);
        Assert.DoesNotContain("'vendor/other'", output);
        Assert.DoesNotContain("'gpt-*'", output);
    }

    [Fact]
    public async Task Health_ZeroWhenTheGatewayAnswers_OneWhenNothingListens()
    {
        await using var gateway = await Infrastructure.GatewayUnderTest.StartAsync();
        var (up, output, _) = await Run("health", "--url", gateway.Url);
        Assert.Equal(0, up);
        Assert.Contains(": 200", output);
        var (down, _, errors) = await Run("health", "--url", "http://127.0.0.1:9");
        Assert.Equal(1, down);
        Assert.Contains("not answering", errors);
        Assert.Equal(2, (await Run("health", "--bogus")).Code);
    }

    [Fact]
    public async Task UnknownCommand_ExitsTwoWithUsage()
    {
        var (code, _, errors) = await Run("frobnicate");
        Assert.Equal(2, code);
        Assert.Contains("usage:", errors);
    }

    [Theory]
    [InlineData("serve", "--config")]
    [InlineData("serve", "--urls")]
    [InlineData("serve", "--config", "--urls")]
    public async Task Serve_OptionWithoutItsValue_IsAClearError(params string[] args)
    {
        var (code, _, errors) = await Run(args);
        Assert.Equal(2, code);
        Assert.Contains("needs a value", errors);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("serve", "--help")]
    [InlineData("config", "check", "--help")]
    [InlineData("policy", "test", "-h")]
    [InlineData("keys", "hash", "--help")]
    public async Task EveryCommand_AnswersHelp(params string[] args)
    {
        var (code, output, _) = await Run(args);
        Assert.Equal(0, code);
        Assert.Contains("usage:", output);
    }

    [Fact]
    public async Task Version_NamesTheCommitItWasBuiltFrom()
    {
        var (code, output, _) = await Run("--version");
        Assert.Equal(0, code);
        Assert.StartsWith("gateway ", output, StringComparison.Ordinal);
        // The SDK stamps the git commit after a '+' when the build ran in a git checkout (CI and here).
        Assert.Matches(@"\+[0-9a-f]{7,40}", output);
    }

    [Fact]
    public async Task Serve_MissingConfigFile_ExitsTwo()
    {
        var (code, _, errors) = await Run("serve", "--config", "/nonexistent/gateway.json");
        Assert.Equal(2, code);
        Assert.Contains("does not exist", errors);
    }

    [Fact]
    public async Task Serve_AnHttpsAddress_IsOneLineSayingWhereTlsEnds_ExitOne()
    {
        string config = Path.Combine(Directory.CreateTempSubdirectory("gw-https-").FullName, "gateway.json");
        await File.WriteAllTextAsync(config, """{ "keys": [] }""");
        var (code, _, errors) = await Run("serve", "--config", config, "--urls", "http://127.0.0.1:0;https://127.0.0.1:0");
        Assert.Equal(1, code);
        Assert.Equal("gateway: cannot start: https://127.0.0.1:0: the gateway listens on http:// only; end TLS in front of it (a load balancer, an ingress, nginx) and give it an http:// address.", errors.Trim());
    }
}
