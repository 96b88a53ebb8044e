using System.Diagnostics;
using System.Globalization;

namespace Gateway.Server.Http;

internal static class GatewayHeaders
{
    public const string Overhead = "x-gateway-overhead-ms";
    public const string UpstreamRequestId = "x-upstream-request-id";

    /// <summary>What the response cache did: <c>hit</c>, <c>miss</c>, <c>bypass</c> or <c>refresh</c>, on every answer of a cached model.</summary>
    public const string Cache = "x-gateway-cache";

    /// <summary>A semantic hit's cosine similarity between the prompt and the one whose answer it got.</summary>
    public const string CacheSimilarity = "x-gateway-cache-similarity";

    /// <summary>The request's own id, on every answer: the client's when it sent one, else the gateway's.</summary>
    public const string RequestId = "x-request-id";

    /// <summary>Milliseconds spent in the gateway: the whole request minus the time spent waiting on the provider.</summary>
    public static string FormatOverhead(long startedTimestamp, long upstreamTicks)
    {
        var total = Stopwatch.GetElapsedTime(startedTimestamp);
        double ms = Math.Max(0, total.TotalMilliseconds - Stopwatch.GetElapsedTime(0, upstreamTicks).TotalMilliseconds);
        return ms.ToString("0.###", CultureInfo.InvariantCulture);
    }
}
