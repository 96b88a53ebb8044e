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
/// An OTLP trace receiver on loopback, as a collector answers: HTTP/protobuf on <c>/v1/traces</c>, or gRPC
/// (HTTP/2 without TLS) on the collector's <c>TraceService/Export</c>, with its status in the trailers. It keeps
/// each export's spans, decoded by <see cref="OtlpDecoder"/>; <see cref="FailWith"/> makes it refuse exports.
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
        app.MapPost(grpc ? "/opentelemetry.proto.collector.trace.v1.TraceService/Export" : "/v1/traces", async ctx =>
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
                if (self.FailWith == 0) self.Exports.Enqueue(OtlpDecoder.Decode(bytes));
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
            self.Exports.Enqueue(OtlpDecoder.Decode(bytes));
            ctx.Response.ContentType = "application/x-protobuf";
        });
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new OtlpReceiver(app, address);
        return self;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
