namespace Gateway.Core.Governance;

/// <summary>How long a budget lasts before it starts again: UTC-aligned periods, or none (lifetime).</summary>
public enum BudgetPeriod
{
    Lifetime,
    Minute,
    Hour,
    Day,
    /// <summary>From Monday 00:00 UTC (ISO weeks).</summary>
    Week,
    /// <summary>From the first of the month, 00:00 UTC.</summary>
    Month,
}

/// <summary>
/// A budget in money: at most <see cref="LimitNanos"/> nano-dollars (1e-9 USD) per period. A soft
/// threshold (<see cref="AlertAt"/>, a fraction of the limit) is logged once per period when crossed.
/// </summary>
public sealed record Budget(long LimitNanos, BudgetPeriod Period, double? AlertAt = null)
{
    public const long NanosPerUsd = 1_000_000_000;

    public decimal Usd => (decimal)LimitNanos / NanosPerUsd;

    /// <summary>The period's written form in config and API: <c>1m 1h 1d 1w 1M</c>, or null for lifetime.</summary>
    public static string? Name(BudgetPeriod period) => period switch
    {
        BudgetPeriod.Minute => "1m",
        BudgetPeriod.Hour => "1h",
        BudgetPeriod.Day => "1d",
        BudgetPeriod.Week => "1w",
        BudgetPeriod.Month => "1M",
        _ => null,
    };

    public static BudgetPeriod? ParsePeriod(string? text) => text switch
    {
        null or "" or "lifetime" => BudgetPeriod.Lifetime,
        "1m" => BudgetPeriod.Minute,
        "1h" => BudgetPeriod.Hour,
        "1d" => BudgetPeriod.Day,
        "1w" => BudgetPeriod.Week,
        "1M" => BudgetPeriod.Month,
        _ => null,
    };

    /// <summary>When the period holding <paramref name="unixMs"/> began (Unix ms, UTC); 0 for a lifetime budget.</summary>
    public static long PeriodStart(BudgetPeriod period, long unixMs)
    {
        switch (period)
        {
            case BudgetPeriod.Minute: return Floor(unixMs, 60_000);
            case BudgetPeriod.Hour: return Floor(unixMs, 3_600_000);
            case BudgetPeriod.Day: return Floor(unixMs, 86_400_000);
            case BudgetPeriod.Week:
                // 1970-01-01 was a Thursday: Monday-aligned weeks are offset by four days.
                const long week = 7 * 86_400_000L, offset = 4 * 86_400_000L;
                return Floor(unixMs - offset, week) + offset;
            case BudgetPeriod.Month:
                var at = DateTimeOffset.FromUnixTimeMilliseconds(unixMs);
                return new DateTimeOffset(at.Year, at.Month, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
            default: return 0;
        }
    }

    /// <summary>When the period holding <paramref name="unixMs"/> ends (Unix ms, UTC); <see cref="long.MaxValue"/> for a lifetime budget.</summary>
    public static long PeriodEnd(BudgetPeriod period, long unixMs) => period switch
    {
        BudgetPeriod.Minute => PeriodStart(period, unixMs) + 60_000,
        BudgetPeriod.Hour => PeriodStart(period, unixMs) + 3_600_000,
        BudgetPeriod.Day => PeriodStart(period, unixMs) + 86_400_000,
        BudgetPeriod.Week => PeriodStart(period, unixMs) + 7 * 86_400_000L,
        BudgetPeriod.Month => DateTimeOffset.FromUnixTimeMilliseconds(PeriodStart(period, unixMs)).AddMonths(1).ToUnixTimeMilliseconds(),
        _ => long.MaxValue,
    };

    private static long Floor(long value, long unit) => value - (((value % unit) + unit) % unit);

    /// <summary>USD as nano-dollars, rounded to the nearest one.</summary>
    public static long ToNanos(decimal usd) => (long)Math.Round(usd * NanosPerUsd, MidpointRounding.AwayFromZero);

    public static double ToUsd(long nanos) => nanos / (double)NanosPerUsd;
}
