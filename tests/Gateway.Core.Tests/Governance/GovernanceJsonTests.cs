using System.Text.Json;
using Gateway.Core.Governance;

namespace Gateway.Core.Tests.Governance;

public class GovernanceJsonTests
{
    private static (T Value, List<string> Errors) Read<T>(string json, Func<JsonElement, List<string>, T> read)
    {
        using var document = JsonDocument.Parse(json);
        var errors = new List<string>();
        return (read(document.RootElement, errors), errors);
    }

    [Fact]
    public void Budget_RoundTrips_InNanoDollars()
    {
        var (budget, errors) = Read("""{"usd": 12.345678901, "period": "1w", "alertAt": 0.8}""", (e, l) => GovernanceJson.ReadBudget(e, "budget", l));
        Assert.Empty(errors);
        Assert.Equal(new Budget(12_345_678_901, BudgetPeriod.Week, 0.8), budget);
        Assert.Equal(budget, GovernanceJson.BudgetFromText(GovernanceJson.BudgetText(budget)));
    }

    [Theory]
    [InlineData("""{"period": "1d"}""", "budget.usd: required")]
    [InlineData("""{"usd": -1}""", "budget.usd: must be a number")]
    [InlineData("""{"usd": 5, "period": "1y"}""", "budget.period: one of 1m, 1h, 1d, 1w, 1M")]
    [InlineData("""{"usd": 5, "alertAt": 80}""", "budget.alertAt: a fraction")]
    [InlineData("""{"usd": 5, "limit": 3}""", "budget.limit: unknown budget setting")]
    [InlineData("""50""", "budget: must be an object")]
    public void ABadBudget_SaysWhatIsWrong(string json, string expected)
    {
        var (budget, errors) = Read(json, (e, l) => GovernanceJson.ReadBudget(e, "budget", l));
        Assert.Null(budget);
        Assert.Contains(errors, e => e.StartsWith(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"rpm": 60, "tpm": 1000}""", 60, 1000, null)]
    [InlineData("""{"rpm": 1.5}""", 0, 0, "limits.rpm: a whole number")]
    [InlineData("""{"rpd": 5}""", 0, 0, "limits.rpd: unknown limit")]
    public void Limits(string json, int rpm, int tpm, string? expected)
    {
        var (limits, errors) = Read(json, (e, l) => GovernanceJson.ReadLimits(e, "limits", l));
        Assert.Equal(new RateLimits(rpm, tpm), limits);
        if (expected is null) Assert.Empty(errors);
        else Assert.Contains(errors, e => e.StartsWith(expected, StringComparison.Ordinal));
    }
}
