using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gateway.Server.FunctionalTests.Infrastructure;
using Gateway.Server.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Admin;

public sealed class SqliteGovernanceTests() : GovernanceTests(StoreEngine.Sqlite);

/// <summary>The same tests on PostgreSQL and Redis: one replica of a scaled-out gateway behaves as a single node does.</summary>
public sealed class SharedGovernanceTests() : GovernanceTests(StoreEngine.Shared);

/// <summary>Limits, budgets, usage, logs and stored providers, end to end on a real SQLite file, or PostgreSQL and Redis.</summary>
public abstract class GovernanceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gw-gov-").FullName;
    private readonly SharedStores? _shared;

    protected GovernanceTests(StoreEngine engine)
    {
        if (engine == StoreEngine.Shared) _shared = new SharedStores();
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _shared?.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>The gateway on this class's stores (shadows GatewayUnderTest.StartAsync).</summary>
    private Task<GatewayUnderTest> StartAsync(TestUpstream? upstream = null, string? configJson = null, Dictionary<string, string>? env = null,
        string? dataDir = null, string? configPath = null) =>
        GatewayUnderTest.StartAsync(upstream, configJson, _shared?.With(env) ?? env, dataDir: dataDir, configPath: configPath);

    /// <summary>One worst case (8 output tokens at 125000 USD per million) is exactly 1 USD; input is free.</summary>
    private const string Pricing = """{"pricing":{"openai/gpt-4o-mini":{"input":0,"output":125000}}}""";

    private static string SecretKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    [Fact]
    public async Task BudgetRace_50ConcurrentRequests_AgainstABudgetWorth10_Get10Answers_AndThe402sNeverReachTheProvider()
    {
        await using var upstream = await TestUpstream.StartAsync();
        await using var gateway = await StartAsync(upstream, Pricing);
        var (id, key) = await gateway.NewKeyAsync("""{"name":"race","budget":{"usd":10}}""");
        using var client = new HttpClient { BaseAddress = new Uri(gateway.Url), Timeout = TimeSpan.FromSeconds(60) };
        // Each answer is held 2 s, longer than the 50 take to arrive on a loaded machine (through Redis too): none settles before
        // the last is admitted, so exactly the 10 worst cases that fit are admitted, not more as earlier ones settle under budget.
        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
            gateway.ChatAsync(key, "openai/gpt-4o-mini", $"race {i} fault:slow-headers:2000", maxTokens: 8, client: client)));
        Assert.True(results.Count(r => r.Status == 200) == 10, string.Join("\n", results.GroupBy(r => r.Status).Select(g => $"{g.Count()} x {g.Key}: {g.First().Body}")));
        var refused = results.Where(r => r.Status == 402).ToArray();
        Assert.Equal(40, refused.Length);
        Assert.All(refused, r =>
        {
            Assert.Equal("budget_exceeded", r.Body.GetProperty("error").GetProperty("code").GetString());
            Assert.Equal("insufficient_quota", r.Body.GetProperty("error").GetProperty("type").GetString());
        });
        Assert.Equal(10, upstream.Matching("race ").Length);
        // Each answer used 5 output tokens (0.625 USD): the budget settles to what was really spent.
        var (_, row) = await gateway.CallAsync(HttpMethod.Get, $"/admin/v1/keys/{id}");
        Assert.Equal(6.25, row.GetProperty("spend").GetProperty("usd").GetDouble(), 9);
        Assert.Equal(0, row.GetProperty("spend").GetProperty("reservedUsd").GetDouble());
    }

    [Fact]
    public async Task TheTeamsAndTenantsBudgets_BindTheirKeysToo()
    {
        await using var upstream = await TestUpstream.StartAsync();
        await using var gateway = await StartAsync(upstream, Pricing);
        await gateway.CallAsync(HttpMethod.Post, "/admin/v1/tenants", """{"id":"acme","budget":{"usd":1,"period":"1d"}}""");
        await gateway.CallAsync(HttpMethod.Post, "/admin/v1/teams", """{"id":"red","tenant":"acme"}""");
        var (_, a) = await gateway.NewKeyAsync("""{"name":"a","team":"red"}""");
        var (_, b) = await gateway.NewKeyAsync("""{"name":"b","tenant":"acme"}""");
        Assert.Equal(200, (await gateway.ChatAsync(a, "openai/gpt-4o-mini", "first", maxTokens: 8)).Status); // spends 0.625 of 1
        var (status, _, body) = await gateway.ChatAsync(b, "openai/gpt-4o-mini", "second", maxTokens: 8);
        Assert.Equal(402, status);
        Assert.Contains("tenant 'acme'", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        // A smaller worst case still fits.
        Assert.Equal(200, (await gateway.ChatAsync(b, "openai/gpt-4o-mini", "third", maxTokens: 2)).Status);
    }

    [Fact]
    public async Task ADeploymentOverItsBudget_IsSkipped_ItsFallbackServes_AndWithoutOneTheGatewaySaysWhy()
    {
        await using var upstream = await TestUpstream.StartAsync();
        await using var gateway = await StartAsync(upstream, """
            {
              "pricing": {"openai/gpt-4o-mini": {"input": 0, "output": 125000}},
              "models": {
                "smart": {"deployments": [{"provider": "openai", "model": "gpt-4o-mini", "budget": {"usd": 1, "period": "1d"}}], "fallbacks": ["spare"]},
                "spare": {"deployments": [{"provider": "mock", "model": "echo"}]},
                "alone": {"deployments": [{"provider": "openai", "model": "gpt-4o-mini", "budget": {"usd": 1, "period": "1d"}}]}
              }
            }
            """);
        // Each answer costs 0.625 USD: the second one spends past the budget, the third is routed elsewhere.
        for (int i = 0; i < 2; i++)
        {
            var (ok, response, _) = await gateway.ChatAsync(MasterKey, "smart", $"paid {i}", maxTokens: 8);
            Assert.Equal(200, ok);
            Assert.Equal("openai/gpt-4o-mini", response.Header("x-gateway-deployment"));
        }
        var (status, fallback, _) = await gateway.ChatAsync(MasterKey, "smart", "over budget");
        Assert.Equal(200, status);
        Assert.Equal("spare", fallback.Header("x-gateway-fallback"));
        Assert.Empty(upstream.Matching("over budget"));
        // The budget belongs to the deployment, whichever alias reaches it.
        var (refused, _, body) = await gateway.ChatAsync(MasterKey, "alone", "no fallback");
        Assert.Equal(503, refused);
        Assert.Contains("over their budgets", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rpm_ExactlyN_ThenA429WithOpenAisHeaders()
    {
        await using var gateway = await StartAsync();
        var (_, key) = await gateway.NewKeyAsync("""{"name":"rpm","limits":{"rpm":3,"tpm":1000000}}""");
        using var client = new HttpClient { BaseAddress = new Uri(gateway.Url) };
        var results = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => gateway.ChatAsync(key, "mock/echo", $"rpm {i}", client: client)));
        // Unless the wall-clock minute turned mid-burst, exactly 3 pass.
        int passed = results.Count(r => r.Status == 200);
        Assert.True(passed is 3 or 6, $"{passed} passed");
        var refused = results.First(r => r.Status == 429);
        Assert.Equal("rate_limit_exceeded", refused.Body.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("3", refused.Response.Header("x-ratelimit-limit-requests"));
        Assert.Equal("0", refused.Response.Header("x-ratelimit-remaining-requests"));
        Assert.Matches("^[0-9.]+m?s$", refused.Response.Header("x-ratelimit-reset-requests"));
        Assert.Equal("1000000", refused.Response.Header("x-ratelimit-limit-tokens"));
        Assert.InRange(int.Parse(refused.Response.Header("retry-after"), System.Globalization.CultureInfo.InvariantCulture), 1, 60);
        var answered = results.First(r => r.Status == 200);
        Assert.NotEmpty(answered.Response.Header("x-ratelimit-remaining-requests"));
    }

    [Fact]
    public async Task AKeyOfTheFile_HasItsLimitsAndBudget_CountedAcrossAReload()
    {
        await using var upstream = await TestUpstream.StartAsync();
        string hash = Gateway.Core.Config.KeyHashing.Format(Gateway.Core.Config.KeyHashing.Hash("gw-file-key"));
        string config = Path.Combine(_dir, "gateway.json");
        string Text(int rpm) => "{\"pricing\":{\"openai/gpt-4o-mini\":{\"input\":0,\"output\":125000}},\"keys\":[{\"id\":\"file-key\",\"hash\":\"" + hash
            + "\",\"rpm\":" + rpm + ",\"budget\":{\"usd\":2,\"period\":\"1d\"}}]}";
        await File.WriteAllTextAsync(config, Text(2));
        await using var gateway = await StartAsync(upstream, configPath: config, dataDir: Path.Combine(_dir, "data"));
        var first = await gateway.ChatAsync("gw-file-key", "openai/gpt-4o-mini", "file one", maxTokens: 8);
        Assert.Equal(200, first.Status);
        Assert.Equal("2", first.Response.Header("x-ratelimit-limit-requests"));
        await File.WriteAllTextAsync(config, Text(3));
        for (int i = 0; i < 30 && gateway.Parts.Snapshots.Current.Config.Keys[0].Limits.Rpm != 3; i++) await Task.Delay(100);
        // The reload raised rpm to 3 and kept the minute's count and the day's spend (0.625 USD).
        var second = await gateway.ChatAsync("gw-file-key", "openai/gpt-4o-mini", "file two", maxTokens: 8);
        Assert.Equal(200, second.Status);
        Assert.Equal("1", second.Response.Header("x-ratelimit-remaining-requests"));
        var third = await gateway.ChatAsync("gw-file-key", "openai/gpt-4o-mini", "file three", maxTokens: 8);
        Assert.Equal(402, third.Status); // 1.25 spent + a worst case of 1 > 2
    }

    [Fact]
    public async Task ARequestLargerThanAMinutesTokens_IsRefusedAsTooLarge()
    {
        await using var gateway = await StartAsync();
        var (_, key) = await gateway.NewKeyAsync("""{"name":"tpm","limits":{"tpm":100}}""");
        var (status, _, body) = await gateway.ChatAsync(key, "mock/echo", "hello", maxTokens: 500);
        Assert.Equal(429, status);
        Assert.Contains("Request too large", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(200, (await gateway.ChatAsync(key, "mock/echo", "hello", maxTokens: 20)).Status);
        // Embeddings answer in vectors: they reserve their input only, not a chat's default output.
        using var embedding = await gateway.Client.SendAsync(Post("/v1/embeddings", """{"model":"mock/embedding","input":"short text"}""", key));
        Assert.Equal(System.Net.HttpStatusCode.OK, embedding.StatusCode);
    }

    [Fact]
    public async Task AClientGoneMidStream_SettlesItsWorstCase_AsSpent()
    {
        await using var upstream = await TestUpstream.StartAsync();
        await using var gateway = await StartAsync(upstream, Pricing);
        var (id, key) = await gateway.NewKeyAsync("""{"name":"gone","budget":{"usd":100}}""");
        using (var cts = new CancellationTokenSource())
        {
            var request = Post("/v1/chat/completions", Chat("openai/gpt-4o-mini", "gone fault:slow-stream:50", stream: true).Insert(1, "\"max_tokens\":8,"), key);
            using var response = await gateway.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            var stream = await response.Content.ReadAsStreamAsync(cts.Token);
            _ = await stream.ReadAsync(new byte[64], cts.Token);
            cts.Cancel();
        }
        double spent = 0;
        for (int i = 0; i < 50 && spent == 0; i++)
        {
            await Task.Delay(100);
            spent = (await gateway.CallAsync(HttpMethod.Get, $"/admin/v1/keys/{id}")).Body.GetProperty("spend").GetProperty("usd").GetDouble();
        }
        Assert.Equal(1.0, spent, 9); // the provider may bill what it generated: the reservation (8 tokens) stands
    }

    [Fact]
    public async Task UsageAndLogs_CountByKeyTeamTenantAndModel_WithFiltersAndPaging()
    {
        await using var upstream = await TestUpstream.StartAsync();
        await using var gateway = await StartAsync(upstream, Pricing);
        await gateway.CallAsync(HttpMethod.Post, "/admin/v1/tenants", """{"id":"acme"}""");
        await gateway.CallAsync(HttpMethod.Post, "/admin/v1/teams", """{"id":"red","tenant":"acme"}""");
        var (id, key) = await gateway.NewKeyAsync("""{"name":"user","team":"red"}""");
        for (int i = 0; i < 3; i++) Assert.Equal(200, (await gateway.ChatAsync(key, "openai/gpt-4o-mini", $"u{i}")).Status);
        Assert.Equal(404, (await gateway.ChatAsync(key, "nope/model", "missing")).Status);

        JsonElement usage = default;
        for (int i = 0; i < 50; i++)
        {
            usage = (await gateway.CallAsync(HttpMethod.Get, "/admin/v1/usage?groupBy=tenant")).Body;
            if (usage.GetProperty("data").GetArrayLength() > 0 && usage.GetProperty("data")[0].GetProperty("requests").GetInt64() == 3) break;
            await Task.Delay(100);
        }
        var tenantRow = usage.GetProperty("data")[0];
        Assert.Equal(("acme", 3, 30, 15), (tenantRow.GetProperty("tenant").GetString(), tenantRow.GetProperty("requests").GetInt64(),
            tenantRow.GetProperty("inputTokens").GetInt64(), tenantRow.GetProperty("outputTokens").GetInt64()));
        Assert.Equal(15 * 0.125, tenantRow.GetProperty("costUsd").GetDouble(), 9);
        foreach (var (group, expected) in new[] { ("key", id), ("team", "red"), ("model", "openai/gpt-4o-mini") })
            Assert.Equal(expected, (await gateway.CallAsync(HttpMethod.Get, $"/admin/v1/usage?groupBy={group}")).Body.GetProperty("data")[0].GetProperty(group).GetString());
        Assert.Equal(0, (await gateway.CallAsync(HttpMethod.Get, "/admin/v1/usage?groupBy=key&from=2001-01-01&to=2001-02-01")).Body.GetProperty("data").GetArrayLength());
        Assert.Equal(400, (await gateway.CallAsync(HttpMethod.Get, "/admin/v1/usage?groupBy=colour")).Status);

        // The request log is written in batches, apart from usage (which a shared store commits as each request ends).
        for (int i = 0; i < 50 && (await gateway.CallAsync(HttpMethod.Get, $"/admin/v1/logs?key={id}&limit=10")).Body.GetProperty("data").GetArrayLength() < 4; i++)
            await Task.Delay(100);
        var (_, page1) = await gateway.CallAsync(HttpMethod.Get, $"/admin/v1/logs?key={id}&limit=2");
        Assert.Equal(2, page1.GetProperty("data").GetArrayLength());
        Assert.Equal(404, page1.GetProperty("data")[0].GetProperty("status").GetInt32()); // newest first
        long before = page1.GetProperty("nextBefore").GetInt64();
        var (_, page2) = await gateway.CallAsync(HttpMethod.Get, $"/admin/v1/logs?key={id}&limit=2&before={before}");
        Assert.Equal(2, page2.GetProperty("data").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, page2.GetProperty("nextBefore").ValueKind);
        var row = page2.GetProperty("data")[0];
        Assert.Equal(("openai/gpt-4o-mini", "openai/gpt-4o-mini", "red", "acme", 10, 5), (row.GetProperty("model").GetString(), row.GetProperty("deployment").GetString(),
            row.GetProperty("team").GetString(), row.GetProperty("tenant").GetString(), row.GetProperty("inputTokens").GetInt32(), row.GetProperty("outputTokens").GetInt32()));
        Assert.Equal(3, (await gateway.CallAsync(HttpMethod.Get, $"/admin/v1/logs?status=200&model=openai/gpt-4o-mini")).Body.GetProperty("data").GetArrayLength());
    }

    [Fact]
    public async Task Bodies_AreLoggedOnlyWhenAskedFor_AfterPiiRedaction()
    {
        await using var upstream = await TestUpstream.StartAsync();
        // A generous policy time limit: the first call compiles the policy, and the suite runs tests side by side.
        await using var gateway = await StartAsync(upstream, """
            { "storage": { "logBodies": true },
              "policies": [ { "builtin": "pii-redaction", "redact": { "mode": "placeholder" }, "limits": { "timeoutMs": 3000 } } ] }
            """);
        var (ok, _, answer) = await gateway.ChatAsync(MasterKey, "openai/gpt-4o-mini", "logged: mail ann@example.org please");
        Assert.True(ok == 200, $"{ok}: {answer}");
        Assert.Contains("ann@example.org", answer.GetRawText(), StringComparison.Ordinal); // the client gets its own values back
        JsonElement row = default;
        for (int i = 0; i < 50; i++)
        {
            var (_, logs) = await gateway.CallAsync(HttpMethod.Get, "/admin/v1/logs?limit=1");
            if (logs.GetProperty("data").GetArrayLength() == 1) { row = logs.GetProperty("data")[0]; break; }
            await Task.Delay(100);
        }
        string request = row.GetProperty("requestBody").GetString()!, response = row.GetProperty("responseBody").GetString()!;
        Assert.Contains("[EMAIL_1]", request, StringComparison.Ordinal);
        Assert.Contains("[EMAIL_1]", response, StringComparison.Ordinal);
        Assert.DoesNotContain("ann@example.org", request + response, StringComparison.Ordinal);
        Assert.Equal("pii-redaction", row.GetProperty("policies").GetString());

        // Another gateway without logBodies (on the shared stores, the same database: its row is the newest).
        await using var plain = await StartAsync(upstream);
        Assert.Equal(200, (await plain.ChatAsync(MasterKey, "openai/gpt-4o-mini", "not logged")).Status);
        string loggedId = row.GetProperty("id").GetString()!;
        bool Newer(JsonElement logs) => logs.GetProperty("data").GetArrayLength() == 1 && logs.GetProperty("data")[0].GetProperty("id").GetString() != loggedId;
        for (int i = 0; i < 50 && !Newer((await plain.CallAsync(HttpMethod.Get, "/admin/v1/logs?limit=1")).Body); i++) await Task.Delay(100);
        var plainRow = (await plain.CallAsync(HttpMethod.Get, "/admin/v1/logs?limit=1")).Body.GetProperty("data")[0];
        Assert.False(plainRow.TryGetProperty("requestBody", out _));
    }

    [Fact]
    public async Task StoredProvider_Routes_ItsKeyIsSealedOnDisk_AndItSurvivesARestartOnlyWithTheSameSecretKey()
    {
        await using var upstream = await TestUpstream.StartAsync();
        string data = Path.Combine(_dir, "data"), secretKey = SecretKey();
        var env = new Dictionary<string, string> { ["GATEWAY_SECRET_KEY"] = secretKey };
        string entry = "{\"type\":\"openai\",\"baseUrl\":\"" + upstream.BaseUrl + "\",\"apiKey\":\"" + TestUpstream.Key + "\"}";
        await using (var gateway = await StartAsync(dataDir: data, env: env))
        {
            var (put, body) = await gateway.CallAsync(HttpMethod.Put, "/admin/v1/providers/vault", entry);
            Assert.Equal(201, put);
            Assert.True(body.GetProperty("hasCredentials").GetBoolean());
            Assert.DoesNotContain(TestUpstream.Key, body.GetRawText(), StringComparison.Ordinal);
            var (ok, _, _) = await gateway.ChatAsync(MasterKey, "vault/gpt-4o-mini", "via stored provider");
            Assert.Equal(200, ok);
            Assert.Equal("Bearer " + TestUpstream.Key, upstream.Matching("via stored provider").Single().Headers["authorization"]);
            Assert.Equal(200, (await gateway.CallAsync(HttpMethod.Put, "/admin/v1/providers/vault", entry)).Status); // replaced, not added
            Assert.Equal(409, (await gateway.CallAsync(HttpMethod.Put, "/admin/v1/providers/mock", """{"type":"mock"}""")).Status);
            Assert.Equal(400, (await gateway.CallAsync(HttpMethod.Put, "/admin/v1/providers/broken", """{"type":"nosuch"}""")).Status);
            var (_, audit) = await gateway.CallAsync(HttpMethod.Get, "/admin/v1/audit?entity=provider");
            Assert.DoesNotContain(TestUpstream.Key, audit.GetRawText(), StringComparison.Ordinal);
        }
        SqliteConnection.ClearAllPools();
        foreach (var file in Directory.Exists(data) ? Directory.EnumerateFiles(data, "*", SearchOption.AllDirectories) : [])
        {
            var bytes = await File.ReadAllBytesAsync(file);
            Assert.False(Contains(bytes, TestUpstream.Key), $"{file} holds the provider's key in plain text");
            Assert.False(Contains(bytes, secretKey), $"{file} holds GATEWAY_SECRET_KEY");
        }

        await using (var again = await StartAsync(dataDir: data, env: env))
            Assert.Equal(200, (await again.ChatAsync(MasterKey, "vault/gpt-4o-mini", "after restart")).Status);

        var wrongKey = new Dictionary<string, string> { ["GATEWAY_SECRET_KEY"] = SecretKey() };
        var failed = await Assert.ThrowsAsync<GatewayStartException>(() => StartAsync(dataDir: data, env: wrongKey));
        Assert.Contains("'vault'", failed.Message, StringComparison.Ordinal);
        Assert.Contains("do not open", failed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AProviderNameInTheFileAndInTheStore_IsAnError_AtStartAndOnReload()
    {
        string data = Path.Combine(_dir, "data"), config = Path.Combine(_dir, "gateway.json");
        Directory.CreateDirectory(data);
        await File.WriteAllTextAsync(config, "{}");
        var env = new Dictionary<string, string> { ["GATEWAY_SECRET_KEY"] = SecretKey() };
        await using (var gateway = await StartAsync(dataDir: data, env: env, configPath: config))
        {
            Assert.Equal(201, (await gateway.CallAsync(HttpMethod.Put, "/admin/v1/providers/shared", """{"type":"mock"}""")).Status);
            // A reload that declares the same name is rejected; the stored provider keeps serving.
            await File.WriteAllTextAsync(config, """{"providers":{"shared":{"type":"mock"}}}""");
            for (int i = 0; i < 30 && gateway.Parts.Watcher.LastFailure is null; i++) await Task.Delay(100);
            Assert.Contains("'shared'", gateway.Parts.Watcher.LastFailure?.Reason, StringComparison.Ordinal);
            Assert.Equal(200, (await gateway.ChatAsync(MasterKey, "shared/echo", "still served")).Status);
        }
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(dataDir: data, env: env, configPath: config));
        Assert.Contains("'shared' is declared by the configuration", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutASecretKey_ACredentialIsNotStored()
    {
        await using var gateway = await StartAsync();
        var (status, body) = await gateway.CallAsync(HttpMethod.Put, "/admin/v1/providers/vault", """{"type":"openai","apiKey":"sk-nope"}""");
        Assert.Equal(503, status);
        Assert.Contains("GATEWAY_SECRET_KEY", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, (await gateway.CallAsync(HttpMethod.Get, "/admin/v1/providers")).Body.GetProperty("data").GetArrayLength());
    }

    [Fact]
    public async Task KeysRevocationsAndSpend_SurviveARestart()
    {
        await using var upstream = await TestUpstream.StartAsync();
        string data = Path.Combine(_dir, "data");
        string keep, gone, keepId;
        Directory.CreateDirectory(data);
        await using (var gateway = await StartAsync(upstream, Pricing, dataDir: data))
        {
            (keepId, keep) = await gateway.NewKeyAsync("""{"name":"keep","budget":{"usd":2}}""");
            string goneId;
            (goneId, gone) = await gateway.NewKeyAsync("""{"name":"gone"}""");
            Assert.Equal(200, (await gateway.ChatAsync(keep, "openai/gpt-4o-mini", "spend", maxTokens: 8)).Status); // 0.625 spent
            Assert.Equal(200, (await gateway.CallAsync(HttpMethod.Delete, $"/admin/v1/keys/{goneId}")).Status);
        }
        await using (var gateway = await StartAsync(upstream, Pricing, dataDir: data))
        {
            Assert.Equal(401, (await gateway.ChatAsync(gone, "mock/echo", "still gone")).Status);
            var (_, row) = await gateway.CallAsync(HttpMethod.Get, $"/admin/v1/keys/{keepId}");
            Assert.Equal(0.625, row.GetProperty("spend").GetProperty("usd").GetDouble(), 9);
            Assert.Equal(200, (await gateway.ChatAsync(keep, "openai/gpt-4o-mini", "spend again", maxTokens: 8)).Status); // 1.25 spent
            var (status, _, _) = await gateway.ChatAsync(keep, "openai/gpt-4o-mini", "one too many", maxTokens: 8);
            Assert.Equal(402, status);
        }
    }

    private static bool Contains(byte[] haystack, string needle) => haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(needle)) >= 0;
}
