using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Gateway.Core;
using Gateway.Core.Errors;
using Gateway.Core.Governance;
using Gateway.Server.Http;
using Gateway.Server.Pipeline;
using Microsoft.AspNetCore.Http;

namespace Gateway.Server.Observability;

/// <summary>
/// <c>GET /metrics</c>: Prometheus text. Open unless <c>server.metricsKey</c> is set; then it takes that
/// key or an admin key as a bearer token.
/// </summary>
internal sealed class MetricsEndpoint(GatewayMetrics metrics, SnapshotHolder snapshots, DirectoryHolder directory)
{
    public async Task ScrapeAsync(HttpContext context)
    {
        var snapshot = snapshots.Current;
        if (!snapshot.Config.Server.Metrics)
        {
            await ErrorResponses.WriteAsync(context, GatewayError.NotFound("Metrics are off (server.metrics is false).")).ConfigureAwait(false);
            return;
        }
        if (snapshot.Config.Server.MetricsKey is { } required && !Allowed(context, required, snapshot))
        {
            await ErrorResponses.WriteAsync(context, GatewayError.Unauthorized("/metrics needs server.metricsKey or an admin key: 'Authorization: Bearer <key>'."))
                .ConfigureAwait(false);
            return;
        }
        var buffer = new ArrayBufferWriter<byte>(32 * 1024);
        metrics.WriteTo(new PrometheusWriter(buffer));
        var response = context.Response;
        response.ContentType = PrometheusWriter.ContentType;
        response.Headers.CacheControl = "no-store";
        response.ContentLength = buffer.WrittenCount;
        await response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }

    private bool Allowed(HttpContext context, string required, GatewaySnapshot snapshot)
    {
        string header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(header[7..].Trim())), SHA256.HashData(Encoding.UTF8.GetBytes(required))))
            return true;
        return Authenticator.Authenticate(context, snapshot.Keys, directory.Current) is { Admin: true } key && !Authenticator.IsExpired(key, snapshot.Time);
    }
}

/// <summary>Each request's record into the metrics.</summary>
internal sealed class MetricsSink(GatewayMetrics metrics, SnapshotHolder snapshots) : IRequestSink
{
    public void Write(in RequestRecord record)
    {
        if (snapshots.Current.Config.Server.Metrics) metrics.Record(record);
    }
}
