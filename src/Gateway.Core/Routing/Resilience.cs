using System.Globalization;
using Gateway.Core.Errors;

namespace Gateway.Core.Routing;

/// <summary>Which failures another attempt may cure, and how long a provider asked to be left alone.</summary>
public static class Resilience
{
    /// <summary>
    /// Connect errors, timeouts, 429, 500, 502, 503, 504 and 529 from the provider; never the client's
    /// own mistakes, and not a provider refusing the gateway's key (a configuration fault that the
    /// same call would meet again).
    /// </summary>
    public static bool IsRetryable(GatewayError error) =>
        error.Source is ErrorSource.Upstream or ErrorSource.Timeout && error.Status is 429 or 500 or 502 or 503 or 504 or 529
        && error.Code != "upstream_auth_failed";

    /// <summary>
    /// The kind of a failure a group may fall back on (<c>context_length</c>, <c>content_filter</c>),
    /// as the provider's adapter classified it; null for any other.
    /// </summary>
    public static string? FallbackKind(GatewayError error) => error.Source != ErrorSource.Upstream ? null : error.Kind switch
    {
        UpstreamFailureKind.ContextLength => "context_length",
        UpstreamFailureKind.ContentFilter => "content_filter",
        _ => null,
    };

    /// <summary>The provider's <c>retry-after</c> (seconds or an HTTP date), when it sent one.</summary>
    public static TimeSpan? RetryAfter(GatewayError error, DateTimeOffset now)
    {
        foreach (var (name, value) in error.Headers)
        {
            if (!string.Equals(name, "retry-after", StringComparison.OrdinalIgnoreCase)) continue;
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && seconds >= 0)
                return TimeSpan.FromSeconds(Math.Min(seconds, 3600));
            if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
                return at > now ? at - now : TimeSpan.Zero;
        }
        return null;
    }

    /// <summary>Exponential backoff with full jitter: a random wait up to 50 ms, 100 ms, 200 ms, ... capped at 2 s.</summary>
    public static TimeSpan Backoff(int retry, Random random) =>
        TimeSpan.FromMilliseconds(random.NextDouble() * Math.Min(2000, 50 * Math.Pow(2, Math.Max(0, retry - 1))));
}
