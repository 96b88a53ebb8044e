using Gateway.Core.Governance;

namespace Gateway.Storage.Tests.Sqlite;

public sealed class SqliteGovernanceStoreTests() : GovernanceStoreTests(StoreEngine.Sqlite);

public sealed class PostgresGovernanceStoreTests() : GovernanceStoreTests(StoreEngine.Postgres);

/// <summary>The governance store's contract, the same on each engine.</summary>
public abstract class GovernanceStoreTests : IDisposable
{
    private readonly TempStore _temp;
    private readonly IGovernanceStore _store;

    protected GovernanceStoreTests(StoreEngine engine)
    {
        _temp = new TempStore("gw-govstore-", engine);
        _store = _temp.Governance;
    }

    public void Dispose() => _temp.Dispose();

    private static AuditEntry Audit(string action, string entity, string id) => new(0, 1000, "master", action, entity, id, null, "{}");

    [Fact]
    public void Entities_RoundTrip_AndEveryChangeMovesTheVersion_WithItsAuditEntry()
    {
        long v0 = _store.DirectoryVersion();
        _store.Insert(new Tenant("acme", "Acme", new RateLimits(60, 0), new Budget(5_000_000_000, BudgetPeriod.Month, 0.9), """{"tier":"gold"}""", 1, 1), Audit("create", "tenant", "acme"));
        _store.Insert(new Team("red", "acme", "Red", RateLimits.None, null, null, 2, 2), Audit("create", "team", "red"));
        var key = new StoredKey("key_1", "one", new byte[32], "gw-abcdefgh", null, "red", ["mock/*"], new RateLimits(0, 1000), null, false, null, 5000, null, 3, 3);
        _store.Insert(key, Audit("create", "key", "key_1"));
        _store.Update(key with { RevokedAt = 4000 }, Audit("revoke", "key", "key_1"));
        Assert.Equal(v0 + 4, _store.DirectoryVersion());

        var (tenants, teams, keys) = _store.LoadDirectory();
        Assert.Equal(new Budget(5_000_000_000, BudgetPeriod.Month, 0.9), tenants.Single().Budget);
        Assert.Equal("""{"tier":"gold"}""", tenants.Single().Metadata);
        Assert.Equal("acme", teams.Single().Tenant);
        var stored = keys.Single();
        Assert.Equal(["mock/*"], stored.Models);
        Assert.Equal((1000, 5000L, 4000L), (stored.Limits.Tpm, stored.ExpiresAt, stored.RevokedAt));
        Assert.Equal(["revoke", "create", "create", "create"], _store.Audit(null, 10).Select(a => a.Action));
        Assert.Single(_store.Audit(null, 10, "key", "key_1"), a => a.Action == "revoke");
    }

    [Fact]
    public void Conflicts_AreRefused_AndLeaveNoAuditEntry()
    {
        _store.Insert(new Tenant("acme", "Acme", RateLimits.None, null, null, 1, 1), Audit("create", "tenant", "acme"));
        var taken = Assert.Throws<GovernanceConflictException>(() => _store.Insert(new Tenant("acme", "Again", RateLimits.None, null, null, 1, 1), Audit("create", "tenant", "acme")));
        Assert.Contains("already exists", taken.Message, StringComparison.Ordinal);
        _store.Insert(new Team("red", "acme", "Red", RateLimits.None, null, null, 2, 2), Audit("create", "team", "red"));
        Assert.Throws<GovernanceConflictException>(() => _store.Delete("tenant", "acme", Audit("delete", "tenant", "acme")));
        Assert.Throws<GovernanceConflictException>(() => _store.Insert(new Team("blue", "ghost", "Blue", RateLimits.None, null, null, 2, 2), Audit("create", "team", "blue")));
        Assert.Equal(2, _store.Audit(null, 10).Count);
    }

    [Fact]
    public void Spend_AddsUpPerPeriod_AndLoadsFromASince()
    {
        _store.AddSpend([new SpendRow("key", "k", 0, 5), new SpendRow("team", "t", 1000, 7)]);
        _store.AddSpend([new SpendRow("key", "k", 0, 5), new SpendRow("team", "t", 500, 1)]);
        var rows = _store.LoadSpend(since: 900).OrderBy(r => r.Scope).ToArray();
        Assert.Equal([new SpendRow("key", "k", 0, 10), new SpendRow("team", "t", 1000, 7)], rows);
    }

    [Fact]
    public void StoredProviders_KeepTheSealedBytes_AndReplaceByName()
    {
        var secret = new SealedSecret([1, 2, 3], [4, 5, 6]);
        _store.Put(new StoredProvider("vault", """{"type":"openai"}""", secret, 1, 1), Audit("create", "provider", "vault"));
        _store.Put(new StoredProvider("vault", """{"type":"openai","baseUrl":"http://127.0.0.1:9/v1"}""", secret, 1, 2), Audit("update", "provider", "vault"));
        var stored = _store.LoadProviders().Single();
        Assert.Equal([1, 2, 3], stored.Secret!.Nonce);
        Assert.Equal([4, 5, 6], stored.Secret.Ciphertext);
        Assert.Equal(2, stored.UpdatedAt);
        Assert.Contains("baseUrl", stored.Entry, StringComparison.Ordinal);
        Assert.True(_store.Delete("provider", "vault", Audit("delete", "provider", "vault")));
        Assert.Empty(_store.LoadProviders());
    }
}
