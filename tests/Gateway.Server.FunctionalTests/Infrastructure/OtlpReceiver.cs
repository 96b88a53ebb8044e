using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.FunctionalTests.Infrastructure;

/// <summary>
/// An OTLP receiver on loopback, as a collector answers: HTTP/protobuf on <c>/v1/traces</c> and <c>/v1/metrics</c>, or
/// gRPC (HTTP/2 without TLS) on the collector's <c>TraceService/Export</c> and <c>MetricsService/Export</c>, with its status
/// in the trailers. It keeps each export's spans or metrics, decoded by <see cref="OtlpDecoder"/>; <see cref="FailWith"/> makes it refuse exports.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private OtlpReceiver(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    public string Url { get; }
    public ConcurrentQueue<OtlpExport> Exports { get; } = new();
    public ConcurrentQueue<IReadOnlyList<OtlpMetric>> MetricExports { get; } = new();
    public ConcurrentQueue<Dictionary<string, string>> Headers { get; } = new();
    /// <summary>A status to refuse exports with (HTTP status, or the gRPC status over gRPC); 0 accepts them.</summary>
    public int FailWith { get; set; }

    public IEnumerable<OtlpSpan> Spans => Exports.SelectMany(e => e.Spans);

    public static async Task<OtlpReceiver> StartAsync(bool grpc = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, l => l.Protocols = grpc ? HttpProtocols.Http2 : HttpProtocols.Http1));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        OtlpReceiver? self = null;
        async Task Receive(HttpContext ctx, bool metrics)
        {
            using var body = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(body);
            byte[] bytes = body.ToArray();
            self!.Headers.Enqueue(ctx.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()));
            if (grpc)
            {
                Assert.Equal("application/grpc", ctx.Request.ContentType);
                Assert.Equal(0, bytes[0]); // not compressed
                Assert.Equal(bytes.Length - 5, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(1)));
                bytes = bytes[5..];
                ctx.Response.ContentType = "application/grpc";
                if (self.FailWith == 0) self.Keep(bytes, metrics);
                await ctx.Response.Body.FlushAsync();
                ctx.Response.AppendTrailer("grpc-status", self.FailWith.ToString(System.Globalization.CultureInfo.InvariantCulture));
                return;
            }
            Assert.Equal("application/x-protobuf", ctx.Request.ContentType);
            if (self.FailWith != 0)
            {
                ctx.Response.StatusCode = self.FailWith;
                return;
            }
            self.Keep(bytes, metrics);
            ctx.Response.ContentType = "application/x-protobuf";
        }
        app.MapPost(grpc ? "/opentelemetry.proto.collector.trace.v1.TraceService/Export" : "/v1/traces", ctx => Receive(ctx, metrics: false));
        app.MapPost(grpc ? "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export" : "/v1/metrics", ctx => Receive(ctx, metrics: true));
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new OtlpReceiver(app, address);
        return self;
    }

    private void Keep(byte[] body, bool metrics)
    {
        if (metrics) MetricExports.Enqueue(OtlpDecoder.DecodeMetrics(body));
        else Exports.Enqueue(OtlpDecoder.Decode(body));
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
