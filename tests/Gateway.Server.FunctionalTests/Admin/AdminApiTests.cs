using System.Net;
using System.Text.Json;
using Gateway.Server.FunctionalTests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Admin;

/// <summary>The admin API (DESIGN §8) on the default SQLite store: entities, keys, refusals, the audit log.</summary>
public sealed class AdminApiTests
{
    [Fact]
    public async Task TenantTeamKey_ThenTheKeyAnswers_KeepsToItsModels_AndIsListedWithoutItsSecret()
    {
        await using var gateway = await StartAsync();
        var (status, tenant) = await gateway.CallAsync(HttpMethod.Post, "/admin/v1/tenants", """{"id":"acme","name":"Acme","budget":{"usd":5,"period":"1M"}}""");
        Assert.Equal(201, status);
        Assert.Equal("Acme", tenant.GetProperty("name").GetString());
        Assert.Equal(5m, tenant.GetProperty("budget").GetProperty("usd").GetDecimal());
        Assert.Equal(201, (await gateway.CallAsync(HttpMethod.Post, "/admin/v1/teams", """{"id":"red","tenant":"acme","limits":{"rpm":100}}""")).Status);
        var (id, key) = await gateway.NewKeyAsync("""{"name":"red-1","team":"red","models":["mock/*"],"metadata":{"owner":"ops"}}""");
        Assert.StartsWith("gw-", key, StringComparison.Ordinal);

        var (ok, _, answer) = await gateway.ChatAsync(key, "mock/echo", "hello from red");
        Assert.Equal(200, ok);
        Assert.Contains("hello from red", answer.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(), StringComparison.Ordinal);
        var (forbidden, _, refusal) = await gateway.ChatAsync(key, "openai/gpt-4o-mini", "no");
        Assert.Equal(403, forbidden);
        Assert.Equal("model_not_allowed", refusal.GetProperty("error").GetProperty("code").GetString());

        var (listed, list) = await gateway.CallAsync(HttpMethod.Get, "/admin/v1/keys");
        Assert.Equal(200, listed);
        string text = list.GetRawText();
        Assert.DoesNotContain(key, text, StringComparison.Ordinal);
        var row = list.GetProperty("data").EnumerateArray().Single(k => k.GetProperty("id").GetString() == id);
        Assert.Equal(key[..11], row.GetProperty("prefix").GetString());
        Assert.Equal("acme", (await gateway.CallAsync(HttpMethod.Get, $"/admin/v1/teams/red")).Body.GetProperty("tenant").GetString());
        Assert.Equal("ops", row.GetProperty("metadata").GetProperty("owner").GetString());
        Assert.Equal("active", row.GetProperty("status").GetString());
    }

    [Fact]
    public async Task OnlyAdminKeysReachTheAdminApi()
    {
        await using var gateway = await StartAsync();
        var (_, plain) = await gateway.NewKeyAsync("""{"name":"plain"}""");
        var (_, admin) = await gateway.NewKeyAsync("""{"name":"ops","admin":true}""");
        Assert.Equal(403, (await gateway.CallAsync(HttpMethod.Get, "/admin/v1/keys", key: plain)).Status);
        Assert.Equal(403, (await gateway.CallAsync(HttpMethod.Post, "/admin/v1/keys", """{"name":"sneaky"}""", key: plain)).Status);
        Assert.Equal(401, (await gateway.CallAsync(HttpMethod.Get, "/admin/v1/usage", key: "gw-wrong")).Status);
        Assert.Equal(401, (await gateway.CallAsync(HttpMethod.Get, "/admin/v1/usage", key: null)).Status);
        // A stored admin key is an admin: it can make keys, and the audit says it did.
        var (made, _) = await gateway.CallAsync(HttpMethod.Post, "/admin/v1/keys", """{"name":"by-ops"}""", key: admin);
        Assert.Equal(201, made);
        var (_, audit) = await gateway.CallAsync(HttpMethod.Get, "/admin/v1/audit?entity=key");
        var entry = audit.GetProperty("data")[0];
        Assert.Equal("create", entry.GetProperty("action").GetString());
        Assert.StartsWith("key_", entry.GetProperty("actor").GetString(), StringComparison.Ordinal);
        Assert.Equal("by-ops", entry.GetProperty("after").GetProperty("name").GetString());
    }

    [Theory]
    [InlineData("/admin/v1/tenants", """{"name":"no id"}""", 400, "id: required")]
    [InlineData("/admin/v1/tenants", """{"id":"bad id!"}""", 400, "id: letters, digits")]
    [InlineData("/admin/v1/tenants", """{"id":"t","limits":{"rpm":-1}}""", 400, "limits.rpm")]
    [InlineData("/admin/v1/tenants", """{"id":"t","colour":"red"}""", 400, "colour: unknown field")]
    [InlineData("/admin/v1/teams", """{"id":"t","tenant":"ghost"}""", 400, "tenant: no tenant 'ghost'")]
    [InlineData("/admin/v1/keys", """{"name":"k","team":"ghost"}""", 400, "team: no team 'ghost'")]
    [InlineData("/admin/v1/keys", """{"name":"k","expiresAt":"2001-01-01T00:00:00Z"}""", 400, "expiresAt: already past")]
    [InlineData("/admin/v1/keys", """{"name":"k","budget":{"usd":"ten"}}""", 400, "budget.usd")]
    [InlineData("/admin/v1/keys", """[1,2]""", 400, "must be a JSON object")]
    [InlineData("/admin/v1/keys", """{"name":""", 400, "not valid JSON")]
    [InlineData("/admin/v1/widgets", """{}""", 404, "Collections under /admin/v1")]
    public async Task BadAdminRequests_GetAClearError(string path, string json, int status, string message)
    {
        await using var gateway = await StartAsync();
        var (code, body) = await gateway.CallAsync(HttpMethod.Post, path, json);
        Assert.Equal(status, code);
        Assert.Contains(message, body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Conflicts_Are409_AndNothingIsHalfWritten()
    {
        await using var gateway = await StartAsync();
        Assert.Equal(201, (await gateway.CallAsync(HttpMethod.Post, "/admin/v1/tenants", """{"id":"acme"}""")).Status);
        Assert.Equal(409, (await gateway.CallAsync(HttpMethod.Post, "/admin/v1/tenants", """{"id":"acme"}""")).Status);
        Assert.Equal(201, (await gateway.CallAsync(HttpMethod.Post, "/admin/v1/teams", """{"id":"red","tenant":"acme"}""")).Status);
        await gateway.NewKeyAsync("""{"name":"k","team":"red"}""");
        var (inUse, body) = await gateway.CallAsync(HttpMethod.Delete, "/admin/v1/tenants/acme");
        Assert.Equal(409, inUse);
        Assert.Equal("in_use", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(200, (await gateway.CallAsync(HttpMethod.Get, "/admin/v1/tenants/acme")).Status);
        var (_, audit) = await gateway.CallAsync(HttpMethod.Get, "/admin/v1/audit?entity=tenant");
        Assert.DoesNotContain(audit.GetProperty("data").EnumerateArray(), e => e.GetProperty("action").GetString() == "delete");
        var (wrongTeam, mismatch) = await gateway.CallAsync(HttpMethod.Post, "/admin/v1/tenants", """{"id":"other"}""");
        Assert.Equal(201, wrongTeam);
        var (bad, refusal) = await gateway.CallAsync(HttpMethod.Post, "/admin/v1/keys", """{"name":"k2","team":"red","tenant":"other"}""");
        Assert.Equal(400, bad);
        Assert.Contains("belongs to tenant 'acme'", refusal.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        _ = mismatch;
    }

    [Fact]
    public async Task Revocation_TakesEffectOnTheNextRequest_EvenOnTheSameConnection()
    {
        await using var gateway = await StartAsync();
        var (id, key) = await gateway.NewKeyAsync("""{"name":"soon-gone"}""");
        Assert.Equal(200, (await gateway.ChatAsync(key, "mock/echo", "one")).Status);
        Assert.Equal(200, (await gateway.ChatAsync(key, "mock/echo", "two")).Status); // verified once on this keep-alive connection
        var (revoked, body) = await gateway.CallAsync(HttpMethod.Delete, $"/admin/v1/keys/{id}");
        Assert.Equal(200, revoked);
        Assert.Equal("revoked", body.GetProperty("status").GetString());
        Assert.Equal(401, (await gateway.ChatAsync(key, "mock/echo", "three")).Status);
        Assert.Equal(409, (await gateway.CallAsync(HttpMethod.Patch, $"/admin/v1/keys/{id}", """{"name":"back"}""")).Status);
        var (_, audit) = await gateway.CallAsync(HttpMethod.Get, $"/admin/v1/audit?entity=key&id={id}");
        Assert.Equal("revoke", audit.GetProperty("data")[0].GetProperty("action").GetString());
        Assert.DoesNotContain(key, audit.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnExpiredKey_Gets401_SayingSo()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var gateway = await StartAsync(time: time);
        var (_, key) = await gateway.NewKeyAsync("{\"name\":\"short\",\"expiresAt\":\"" + time.GetUtcNow().AddHours(1).ToString("O") + "\"}");
        Assert.Equal(200, (await gateway.ChatAsync(key, "mock/echo", "in time")).Status);
        time.Advance(TimeSpan.FromHours(2));
        var (status, _, body) = await gateway.ChatAsync(key, "mock/echo", "too late");
        Assert.Equal(401, status);
        Assert.Contains("expired", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PatchedLimits_ApplyFromTheNextRequest()
    {
        await using var gateway = await StartAsync();
        var (id, key) = await gateway.NewKeyAsync("""{"name":"k","limits":{"rpm":1}}""");
        Assert.Equal(200, (await gateway.ChatAsync(key, "mock/echo", "one")).Status);
        Assert.Equal(429, (await gateway.ChatAsync(key, "mock/echo", "two")).Status);
        var (patched, body) = await gateway.CallAsync(HttpMethod.Patch, $"/admin/v1/keys/{id}", """{"limits":{"rpm":5}}""");
        Assert.Equal(200, patched);
        Assert.Equal(5, body.GetProperty("limits").GetProperty("rpm").GetInt32());
        // The minute's count carries over: one used of five.
        var (ok, response, _) = await gateway.ChatAsync(key, "mock/echo", "three");
        Assert.Equal(200, ok);
        Assert.Equal("3", response.Header("x-ratelimit-remaining-requests"));
    }

    [Fact]
    public async Task WithoutAStore_TheAdminApiSaysWhy()
    {
        await using var gateway = await StartAsync(configJson: """{"storage":{"database":"none"}}""");
        var (status, body) = await gateway.CallAsync(HttpMethod.Get, "/admin/v1/keys");
        Assert.Equal(503, status);
        Assert.Equal("no_store", body.GetProperty("error").GetProperty("code").GetString());
    }
}
