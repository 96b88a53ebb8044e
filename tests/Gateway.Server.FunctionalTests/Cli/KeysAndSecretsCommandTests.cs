using System.Security.Cryptography;
using Gateway.Server.Cli;
using Gateway.Server.FunctionalTests.Admin;
using Gateway.Server.FunctionalTests.Infrastructure;
using Gateway.Server.Hosting;
using Microsoft.Data.Sqlite;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Cli;

/// <summary><c>gateway keys</c> and <c>gateway secrets rotate</c>, offline against the store a running gateway uses.</summary>
public sealed class KeysAndSecretsCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gw-keys-cli-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private Dictionary<string, string> Env(params (string, string)[] more)
    {
        var env = new Dictionary<string, string> { ["GATEWAY_DATA_DIR"] = Path.Combine(_dir, "data") };
        foreach (var (k, v) in more) env[k] = v;
        return env;
    }

    private static (int Code, string Out, string Err) Keys(Dictionary<string, string> env, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = KeysCommand.Run(args[0], args[1..], env, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static string Field(string output, string name) =>
        output.Split('\n').Single(l => l.StartsWith(name + ":", StringComparison.Ordinal))[(name.Length + 1)..].Trim();

    private static async Task<int> EventuallyAsync(GatewayUnderTest gateway, string key, int want)
    {
        int status = 0;
        for (int i = 0; i < 50; i++)
        {
            status = (await gateway.ChatAsync(key, "mock/echo", "cli")).Status;
            if (status == want) break;
            await Task.Delay(100);
        }
        return status;
    }

    [Fact]
    public async Task KeysMadeAndRevokedOffline_AreSeenByARunningGateway_WithinSeconds()
    {
        var env = Env();
        await using var gateway = await StartAsync(dataDir: env["GATEWAY_DATA_DIR"]);
        Assert.Equal(201, (await gateway.CallAsync(HttpMethod.Post, "/admin/v1/tenants", """{"id":"acme"}""")).Status);

        var created = Keys(env, "create", "ci-bot", "--tenant", "acme", "--models", "mock/*", "--rpm", "100", "--budget", "5", "--period", "1d");
        Assert.True(created.Code == 0, created.Err);
        string id = Field(created.Out, "id"), key = Field(created.Out, "key");
        Assert.Equal(200, await EventuallyAsync(gateway, key, 200));

        var listed = Keys(env, "list");
        Assert.Equal(0, listed.Code);
        Assert.Contains(id, listed.Out, StringComparison.Ordinal);
        Assert.Contains("acme", listed.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(key, listed.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(key, Keys(env, "list", "--json").Out, StringComparison.Ordinal);

        var revoked = Keys(env, "revoke", id);
        Assert.True(revoked.Code == 0, revoked.Err);
        Assert.Equal(401, await EventuallyAsync(gateway, key, 401));
        Assert.DoesNotContain(id, Keys(env, "list").Out, StringComparison.Ordinal);
        Assert.Contains("revoked", Keys(env, "list", "--all").Out, StringComparison.Ordinal);

        var (_, audit) = await gateway.CallAsync(HttpMethod.Get, $"/admin/v1/audit?entity=key&id={id}");
        Assert.Equal(["revoke", "create"], audit.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("action").GetString()));
        Assert.All(audit.GetProperty("data").EnumerateArray(), e => Assert.Equal("cli", e.GetProperty("actor").GetString()));
    }

    [Theory]
    [InlineData(new[] { "create" }, "name: required")]
    [InlineData(new[] { "create", "x", "--team", "ghost" }, "team: no team 'ghost'")]
    [InlineData(new[] { "create", "x", "--rpm", "lots" }, "--rpm takes a whole number")]
    [InlineData(new[] { "create", "x", "--colour", "red" }, "unknown option --colour")]
    [InlineData(new[] { "revoke", "key_nope" }, "no stored key 'key_nope'")]
    public void BadArguments_SayWhat(string[] args, string expected)
    {
        var (code, _, err) = Keys(Env(), args);
        Assert.NotEqual(0, code);
        Assert.Contains(expected, err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecretsRotate_ResealsUnderTheNewKey_AndOnlyTheNewKeyOpensThem()
    {
        await using var upstream = await TestUpstream.StartAsync();
        string first = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), second = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        string data = Env()["GATEWAY_DATA_DIR"];
        Directory.CreateDirectory(data);
        await using (var gateway = await StartAsync(dataDir: data, env: new() { ["GATEWAY_SECRET_KEY"] = first }))
            Assert.Equal(201, (await gateway.CallAsync(HttpMethod.Put, "/admin/v1/providers/vault",
                "{\"type\":\"openai\",\"baseUrl\":\"" + upstream.BaseUrl + "\",\"apiKey\":\"" + TestUpstream.Key + "\"}")).Status);

        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.Equal(2, SecretsCommand.Run([], Env(("GATEWAY_SECRET_KEY", second)), stdout, stderr)); // no previous key: nothing to open with
        Assert.Contains("GATEWAY_SECRET_KEY_PREVIOUS", stderr.ToString(), StringComparison.Ordinal);
        int code = SecretsCommand.Run([], Env(("GATEWAY_SECRET_KEY", second), ("GATEWAY_SECRET_KEY_PREVIOUS", first)), stdout, stderr);
        Assert.True(code == 0, stderr.ToString());
        Assert.Contains("1 stored provider credential(s) re-sealed", stdout.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, SecretsCommand.Run([], Env(("GATEWAY_SECRET_KEY", second), ("GATEWAY_SECRET_KEY_PREVIOUS", first)), stdout, stderr)); // again: already done

        await Assert.ThrowsAsync<GatewayStartException>(() => StartAsync(dataDir: data, env: new() { ["GATEWAY_SECRET_KEY"] = first }));
        await using var rotated = await StartAsync(dataDir: data, env: new() { ["GATEWAY_SECRET_KEY"] = second });
        Assert.Equal(200, (await rotated.ChatAsync(MasterKey, "vault/gpt-4o-mini", "after rotation")).Status);
    }
}
