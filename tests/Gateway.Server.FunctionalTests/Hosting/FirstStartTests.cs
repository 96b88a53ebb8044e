using System.Net;
using System.Text.RegularExpressions;
using Gateway.Server.FunctionalTests.Infrastructure;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Hosting;

public partial class FirstStartTests
{
    [GeneratedRegex(@"key:\s+(gw-admin-\S+)")]
    private static partial Regex KeyLine();

    [Fact]
    public async Task NoKeyConfigured_CreatesAdminKeyOnce_KeepsOnlyItsHash()
    {
        string dataDir = Directory.CreateTempSubdirectory("gw-first-").FullName;
        string key;
        await using (var gateway = await StartAsync(masterKey: false, dataDir: dataDir))
        {
            var match = KeyLine().Match(gateway.Banner.ToString());
            Assert.True(match.Success, gateway.Banner.ToString());
            key = match.Groups[1].Value;
            Assert.Contains("curl http://127.0.0.1:0/v1/chat/completions", gateway.Banner.ToString());

            using var open = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("mock/echo", "x"), key: null));
            Assert.Equal(HttpStatusCode.Unauthorized, open.StatusCode);
            using var ok = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("mock/echo", "x"), key));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        string stored = System.Text.Encoding.UTF8.GetString(await File.ReadAllBytesAsync(Path.Combine(dataDir, "admin-key.sha256")));
        Assert.StartsWith("sha256:", stored); // no BOM: other tools read this file too
        Assert.DoesNotContain(key, stored);

        await using (var again = await StartAsync(masterKey: false, dataDir: dataDir))
        {
            Assert.Equal("", again.Banner.ToString()); // shown only once
            using var ok = await again.Client.SendAsync(Post("/v1/chat/completions", Chat("mock/echo", "x"), key));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
    }

    [Fact]
    public async Task FirstStartKey_StopsWorking_OnceTheOperatorConfiguresAnAdminKey()
    {
        string dataDir = Directory.CreateTempSubdirectory("gw-first-").FullName;
        const string bootKey = "gw-admin-first-start";
        await File.WriteAllTextAsync(Path.Combine(dataDir, "admin-key.sha256"),
            Gateway.Core.Config.KeyHashing.Format(Gateway.Core.Config.KeyHashing.Hash(bootKey)) + "\n");
        await using (var alone = await StartAsync(masterKey: false, dataDir: dataDir))
        {
            using var ok = await alone.Client.SendAsync(Post("/v1/chat/completions", Chat("mock/echo", "x"), bootKey));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        var logs = new CapturingLoggerProvider();
        await using (var withMaster = await StartAsync(masterKey: true, dataDir: dataDir, logs: logs))
        {
            using var refused = await withMaster.Client.SendAsync(Post("/v1/chat/completions", Chat("mock/echo", "x"), bootKey));
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            using var master = await withMaster.Client.SendAsync(Post("/v1/chat/completions", Chat("mock/echo", "x")));
            Assert.Equal(HttpStatusCode.OK, master.StatusCode);
            Assert.Contains(logs.Lines, l => l.Contains("first-start admin key", StringComparison.Ordinal) && l.Contains("no longer works", StringComparison.Ordinal));
        }
        string adminHash = Gateway.Core.Config.KeyHashing.Format(Gateway.Core.Config.KeyHashing.Hash("ops-admin"));
        await using (var withAdmin = await StartAsync(masterKey: false, dataDir: dataDir, configJson: $$"""
            { "keys": [ { "id": "ops", "hash": "{{adminHash}}", "admin": true } ] }
            """))
        {
            using var refused = await withAdmin.Client.SendAsync(Post("/v1/chat/completions", Chat("mock/echo", "x"), bootKey));
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }
    }

    [Fact]
    public async Task DataFolder_IsMadeOnlyWhenSomethingNeedsIt()
    {
        // Without a store (storage.database "none") and with an admin key set, nothing needs the folder.
        string dataDir = Path.Combine(Directory.CreateTempSubdirectory("gw-lazy-").FullName, "not-yet");
        string config = Path.Combine(Path.GetDirectoryName(dataDir)!, "gateway.json");
        await using (var gateway = await StartAsync(masterKey: true, dataDir: dataDir, configPath: config, configJson: """{ "storage": { "database": "none" } }"""))
        {
            using var ready = await gateway.Client.GetAsync("/ready");
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            Assert.False(Directory.Exists(dataDir));
        }
        // The store needs it: made at start, with the store's file in it.
        await using (var gateway = await StartAsync(masterKey: true, dataDir: dataDir))
            Assert.True(File.Exists(Path.Combine(dataDir, "gateway.db")));
    }

    [Fact]
    public async Task DataFolderThatCannotBeMade_IsOneClearStartError()
    {
        string file = Path.GetTempFileName(); // a file where a folder would have to be: fails even for root
        var error = await Assert.ThrowsAsync<Gateway.Server.Hosting.GatewayStartException>(() => StartAsync(masterKey: false, dataDir: Path.Combine(file, "data")));
        Assert.Contains("cannot keep the first-start admin key", error.Message, StringComparison.Ordinal);
        Assert.Contains("GATEWAY_MASTER_KEY", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public async Task MasterKeyConfigured_NoAdminKeyIsCreated()
    {
        await using var gateway = await StartAsync();
        Assert.Equal("", gateway.Banner.ToString());
        Assert.False(File.Exists(Path.Combine(gateway.DataDir, "admin-key.sha256")));
    }

    [Fact]
    public async Task ConfiguredKey_RestrictedToItsModels()
    {
        const string teamKey = "team-a-secret-key";
        string hash = Gateway.Core.Config.KeyHashing.Format(Gateway.Core.Config.KeyHashing.Hash(teamKey));
        await using var gateway = await StartAsync(masterKey: false, configJson: $$"""
            { "models": { "fast": "mock/echo" }, "keys": [ { "id": "team-a", "hash": "{{hash}}", "models": ["fast"] } ] }
            """);
        Assert.Equal("", gateway.Banner.ToString());
        using var allowed = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("fast", "x"), teamKey));
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        using var denied = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("mock/echo", "x"), teamKey));
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
    }
}
