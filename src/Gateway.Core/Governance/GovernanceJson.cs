using System.Text.Json;

namespace Gateway.Core.Governance;

/// <summary>
/// The written forms of limits and budgets, the same in the configuration, the admin API and the store:
/// <c>{"rpm": 60, "tpm": 100000}</c> and <c>{"usd": 50, "period": "1d", "alertAt": 0.8}</c>.
/// </summary>
public static class GovernanceJson
{
    public const int MaxRpm = 100_000_000;
    public const int MaxTpm = 2_000_000_000;
    /// <summary>A budget beyond a billion dollars is a typo.</summary>
    public const decimal MaxUsd = 1_000_000_000m;

    /// <summary>Reads <c>limits</c>; a problem is added to <paramref name="errors"/> with its path.</summary>
    public static RateLimits ReadLimits(JsonElement value, string path, List<string> errors)
    {
        if (value.ValueKind == JsonValueKind.Null) return RateLimits.None;
        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"{path}: must be an object like {{\"rpm\": 60, \"tpm\": 100000}}");
            return RateLimits.None;
        }
        int rpm = 0, tpm = 0;
        foreach (var property in value.EnumerateObject())
        {
            switch (property.Name)
            {
                case "rpm": rpm = Whole(property.Value, $"{path}.rpm", MaxRpm, errors); break;
                case "tpm": tpm = Whole(property.Value, $"{path}.tpm", MaxTpm, errors); break;
                default: errors.Add($"{path}.{property.Name}: unknown limit (rpm, tpm)"); break;
            }
        }
        return new RateLimits(rpm, tpm);
    }

    /// <summary>Reads <c>budget</c>; null for JSON null or after a problem (added to <paramref name="errors"/>).</summary>
    public static Budget? ReadBudget(JsonElement value, string path, List<string> errors)
    {
        if (value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"{path}: must be an object like {{\"usd\": 50, \"period\": \"1d\"}}");
            return null;
        }
        decimal? usd = null;
        var period = BudgetPeriod.Lifetime;
        double? alertAt = null;
        int before = errors.Count;
        foreach (var property in value.EnumerateObject())
        {
            switch (property.Name)
            {
                case "usd":
                    if (property.Value.ValueKind == JsonValueKind.Number && property.Value.TryGetDecimal(out var amount) && amount >= 0 && amount <= MaxUsd) usd = amount;
                    else errors.Add($"{path}.usd: must be a number of dollars from 0 to {MaxUsd}");
                    break;
                case "period":
                    string? text = property.Value.ValueKind switch { JsonValueKind.String => property.Value.GetString(), JsonValueKind.Null => null, _ => "?" };
                    if (Budget.ParsePeriod(text) is { } parsed) period = parsed;
                    else errors.Add($"{path}.period: one of 1m, 1h, 1d, 1w, 1M (UTC-aligned), or none for a lifetime budget");
                    break;
                case "alertAt":
                    if (property.Value.ValueKind == JsonValueKind.Number && property.Value.TryGetDouble(out var fraction) && fraction > 0 && fraction <= 1) alertAt = fraction;
                    else if (property.Value.ValueKind != JsonValueKind.Null) errors.Add($"{path}.alertAt: a fraction of the budget, above 0 and at most 1 (0.8 = at 80%)");
                    break;
                default:
                    errors.Add($"{path}.{property.Name}: unknown budget setting (usd, period, alertAt)");
                    break;
            }
        }
        if (usd is null && errors.Count == before) errors.Add($"{path}.usd: required");
        return errors.Count == before && usd is { } limit ? new Budget(Budget.ToNanos(limit), period, alertAt) : null;
    }

    public static void WriteLimits(Utf8JsonWriter writer, RateLimits limits)
    {
        writer.WriteStartObject();
        if (limits.Rpm > 0) writer.WriteNumber("rpm", limits.Rpm);
        if (limits.Tpm > 0) writer.WriteNumber("tpm", limits.Tpm);
        writer.WriteEndObject();
    }

    public static void WriteBudget(Utf8JsonWriter writer, Budget budget)
    {
        writer.WriteStartObject();
        writer.WriteNumber("usd", budget.Usd);
        if (Budget.Name(budget.Period) is { } period) writer.WriteString("period", period);
        if (budget.AlertAt is { } alertAt) writer.WriteNumber("alertAt", alertAt);
        writer.WriteEndObject();
    }

    /// <summary>The JSON text of limits (null when there are none), as the store keeps it.</summary>
    public static string? LimitsText(RateLimits limits) => limits.IsNone ? null : Text(w => WriteLimits(w, limits));

    public static string? BudgetText(Budget? budget) => budget is null ? null : Text(w => WriteBudget(w, budget));

    /// <summary>Limits from the store's text; a row the gateway wrote itself always reads back.</summary>
    public static RateLimits LimitsFromText(string? text)
    {
        if (string.IsNullOrEmpty(text)) return RateLimits.None;
        using var document = JsonDocument.Parse(text);
        var errors = new List<string>();
        var limits = ReadLimits(document.RootElement, "limits", errors);
        return errors.Count == 0 ? limits : throw new InvalidDataException($"stored limits are invalid: {errors[0]}");
    }

    public static Budget? BudgetFromText(string? text)
    {
        if (string.IsNullOrEmpty(text)) return null;
        using var document = JsonDocument.Parse(text);
        var errors = new List<string>();
        var budget = ReadBudget(document.RootElement, "budget", errors);
        return errors.Count == 0 ? budget : throw new InvalidDataException($"stored budget is invalid: {errors[0]}");
    }

    public static string Text(Action<Utf8JsonWriter> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer)) write(writer);
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static int Whole(JsonElement value, string path, int max, List<string> errors)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long n) && n >= 0 && n <= max) return (int)n;
        if (value.ValueKind != JsonValueKind.Null) errors.Add($"{path}: a whole number from 0 (no limit) to {max}");
        return 0;
    }
}
