using Gateway.Core.Config;
using Gateway.Core.Pricing;
using Gateway.Core.Sse;

namespace Gateway.Core.Tests.Pricing;

public class PriceTableTests
{
    [Fact]
    public void Cost_PricesCachedAndCacheWrittenInputApart_InNanoDollars()
    {
        var price = new ModelPrice(Input: 3m, Output: 15m, CachedInput: 0.30m, CacheWrite: 3.75m);
        // 1000 input of which 600 cached and 100 written; 200 output.
        long nanos = price.CostNanos(new TokenUsage(1000, 200, 1200, 600, 0, CacheWriteTokens: 100));
        Assert.Equal((300 * 3m + 600 * 0.30m + 100 * 3.75m + 200 * 15m) * 1000m, nanos);
        Assert.Equal(4_455_000, nanos); // $0.004455
    }

    [Fact]
    public void Cost_WithoutCachePrices_CachedTokensCostTheInputPrice() =>
        Assert.Equal(150 * 10 + 600 * 5, new ModelPrice(0.15m, 0.6m).CostNanos(new TokenUsage(10, 5, 15, 4, 0)));

    [Fact]
    public void BuiltInList_Loads_ByProviderTypeAndModel()
    {
        var price = PriceTable.BuiltInOnly.Find("mine", "openai", "gpt-4o-mini", null);
        Assert.Equal(new ModelPrice(0.15m, 0.60m, 0.075m), price);
        Assert.NotNull(PriceTable.BuiltInOnly.Find("claude", "anthropic", "claude-sonnet-4-5", null)?.CacheWrite);
        Assert.Null(PriceTable.BuiltInOnly.Find("local", "openai-compatible", "gpt-4o-mini", null)); // a compatible server's prices are its own
    }

    [Fact]
    public void Configured_ByProviderNameAndModel_ThenAlias_ThenTheList()
    {
        var table = new PriceTable(new Dictionary<string, ModelPrice>
        {
            ["work/gpt-4o-mini"] = new(1m, 2m),
            ["fast"] = new(5m, 6m),
        });
        Assert.Equal(new ModelPrice(1m, 2m), table.Find("work", "openai", "gpt-4o-mini", "fast"));
        Assert.Equal(new ModelPrice(5m, 6m), table.Find("home", "openai", "gpt-4o-mini", "fast"));
        Assert.Equal(0.15m, table.Find("home", "openai", "gpt-4o-mini", "other")?.Input);
        Assert.Null(table.Find("home", "openai", "no-such-model", null));
    }

    [Fact]
    public void Config_Pricing_IsCheckedAgainstProvidersAndAliases()
    {
        var ok = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, """
            { "models": { "fast": "mock/echo" }, "pricing": { "mock/echo": { "input": 1, "output": 2, "cachedInput": 0.5 }, "fast": { "input": 3, "output": 4 } } }
            """, "gw.json", new Dictionary<string, string>());
        Assert.True(ok.IsValid, string.Join("; ", ok.Errors));
        Assert.Equal(new ModelPrice(1m, 2m, 0.5m), ok.Config!.Pricing["mock/echo"]);

        var bad = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, """
            { "pricing": { "nobody/x": { "input": 1, "output": 2 }, "mock/echo": { "input": 1 }, "mock/y": { "input": -1, "output": 1 } } }
            """, "gw.json", new Dictionary<string, string>());
        Assert.Contains(bad.Errors, e => e.StartsWith("pricing.nobody/x: name a configured provider's model", StringComparison.Ordinal));
        Assert.Contains("pricing.mock/echo: input and output are required (USD per million tokens)", bad.Errors);
        Assert.Contains(bad.Errors, e => e.StartsWith("pricing.mock/y.input: a price in USD per million tokens", StringComparison.Ordinal));
    }
}
