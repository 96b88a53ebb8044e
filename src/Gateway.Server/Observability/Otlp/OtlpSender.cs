using System.Net;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Observability.Otlp;

/// <summary>Where and how one OTLP signal goes: the standard <c>OTEL_*</c> settings, read once at start.</summary>
internal sealed record OtlpExportOptions
{
    /// <summary>The full URL posted to (over gRPC: the collector's service method, e.g. <c>.../TraceService/Export</c>).</summary>
    public required Uri Endpoint { get; init; }
    /// <summary>OTLP over gRPC (HTTP/2) instead of HTTP/protobuf.</summary>
    public bool Grpc { get; init; }
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];
    /// <summary>One export's limit (<c>OTEL_EXPORTER_OTLP_TIMEOUT</c>, 10 s).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>The resource's attributes (<c>service.name</c> first).</summary>
    public required IReadOnlyList<KeyValuePair<string, string>> Resource { get; init; }
    public string ScopeVersion { get; init; } = "";
    /// <summary>The waits before each retry of a failed export (twice: 1 s, then 2 s).</summary>
    public IReadOnlyList<TimeSpan> RetryBackoff { get; init; } = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)];
}

/// <summary>
/// Posts OTLP export requests: <c>Export*ServiceRequest { resource_* = 1: { resource = 1, scope_* = 2: { scope = 1,
/// items... } } }</c>, framed around items already encoded (each a whole field 2 of the scope message), so they are
/// not copied again. Over gRPC the message goes in one uncompressed frame and its status is read from the trailers.
/// A failure is retried for the statuses OTLP calls retryable; it is logged once when exports start failing and
/// once when they work again, never once per export.
/// </summary>
internal sealed partial class OtlpSender : IDisposable
{
    private readonly OtlpExportOptions _options;
    private readonly string _signal;
    private readonly ILogger _logger;
    private readonly HttpMessageInvoker _http;
    private readonly byte[] _resource, _scope; // the resource and scope fields, encoded once
    private bool _failing;

    /// <param name="signal">What is sent, for the log (<c>Trace</c>, <c>Metrics</c>).</param>
    public OtlpSender(OtlpExportOptions options, string signal, string scopeName, ILogger logger, HttpMessageHandler? handler = null)
    {
        _options = options;
        _signal = signal;
        _logger = logger;
        _http = new HttpMessageInvoker(handler ?? new SocketsHttpHandler
        {
            ConnectTimeout = options.Timeout,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(50),
            ActivityHeadersPropagator = null,
            UseCookies = false,
            AllowAutoRedirect = false,
        });
        (_resource, _scope) = Prelude(options, scopeName);
    }

    /// <summary>Sends one export holding <paramref name="items"/>; true once the receiver accepted it.</summary>
    public async Task<bool> SendAsync(ReadOnlyMemory<byte> items, CancellationToken cancellationToken)
    {
        for (int attempt = 0; ; attempt++)
        {
            var (ok, retryable, why) = await SendOnceAsync(items, cancellationToken).ConfigureAwait(false);
            if (ok)
            {
                if (_failing)
                {
                    _failing = false;
                    Log.Recovered(_logger, _signal, _options.Endpoint);
                }
                return true;
            }
            if (!retryable || attempt == _options.RetryBackoff.Count || cancellationToken.IsCancellationRequested)
            {
                if (!_failing)
                {
                    _failing = true;
                    Log.ExportFailed(_logger, _signal, _options.Endpoint, why);
                }
                return false;
            }
            await Task.Delay(_options.RetryBackoff[attempt], cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<(bool Ok, bool Retryable, string Why)> SendOnceAsync(ReadOnlyMemory<byte> items, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _options.Endpoint)
        {
            Content = new ExportContent(_resource, _scope, items, _options.Grpc),
        };
        if (_options.Grpc)
        {
            request.Version = HttpVersion.Version20;
            request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
            request.Headers.TryAddWithoutValidation("te", "trailers");
        }
        foreach (var (name, value) in _options.Headers) request.Headers.TryAddWithoutValidation(name, value);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(_options.Timeout);
        try
        {
            using var response = await _http.SendAsync(request, limit.Token).ConfigureAwait(false);
            // The body is read whole: a gRPC status arrives in the trailers, after it.
            await response.Content.CopyToAsync(Stream.Null, limit.Token).ConfigureAwait(false);
            if (!_options.Grpc)
            {
                int status = (int)response.StatusCode;
                return response.IsSuccessStatusCode ? (true, false, "")
                    : (false, status is 429 or 502 or 503 or 504, $"HTTP {status}");
            }
            if (response.StatusCode != HttpStatusCode.OK) return (false, response.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests, $"HTTP {(int)response.StatusCode}");
            string? grpcStatus = response.TrailingHeaders.TryGetValues("grpc-status", out var trailer) ? trailer.FirstOrDefault()
                : response.Headers.TryGetValues("grpc-status", out var header) ? header.FirstOrDefault() : null;
            // UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED and CANCELLED may pass on a later try.
            return grpcStatus == "0" ? (true, false, "") : (false, grpcStatus is "14" or "4" or "8" or "10" or "1", $"gRPC status {grpcStatus ?? "missing"}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (false, true, $"no answer within {_options.Timeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException ex)
        {
            return (false, true, ex.Message);
        }
    }

    public void Dispose() => _http.Dispose();

    private static (byte[] Resource, byte[] Scope) Prelude(OtlpExportOptions options, string scopeName)
    {
        var buffer = new byte[64 * 1024];
        var w = new ProtoWriter(buffer);
        w.Message(1, out int resource);
        foreach (var (key, value) in options.Resource)
        {
            w.BeginAttribute(1, System.Text.Encoding.UTF8.GetBytes(key), out int kv, out int any);
            w.StringField(1, value);
            w.EndAttribute(kv, any);
        }
        w.EndLength(resource);
        byte[] resourceField = w.Written.ToArray();
        w = new ProtoWriter(buffer);
        w.Message(1, out int scope);
        w.StringField(1, scopeName);
        if (options.ScopeVersion.Length > 0) w.StringField(2, options.ScopeVersion);
        w.EndLength(scope);
        return (resourceField, w.Written.ToArray());
    }

    /// <summary>The export's framing worked out from the lengths, then the items as they are.</summary>
    private sealed class ExportContent : HttpContent
    {
        private readonly byte[] _head;
        private readonly ReadOnlyMemory<byte> _items;

        public ExportContent(byte[] resource, byte[] scope, ReadOnlyMemory<byte> items, bool grpc)
        {
            _items = items;
            int scoped = scope.Length + items.Length;
            int resourced = resource.Length + 1 + ProtoWriter.VarintSize((uint)scoped) + scoped;
            int message = 1 + ProtoWriter.VarintSize((uint)resourced) + resourced;
            var head = new byte[5 + 2 * 6 + resource.Length + scope.Length];
            int at = 0;
            if (grpc)
            {
                head[at++] = 0;
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(head.AsSpan(at), (uint)message);
                at += 4;
            }
            var w = new ProtoWriter(head.AsSpan(at));
            w.LengthPrefix(1, resourced);
            w.AppendBytes(resource);
            w.LengthPrefix(2, scoped);
            w.AppendBytes(scope);
            _head = head[..(at + w.Length)];
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(grpc ? "application/grpc" : "application/x-protobuf");
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            await SerializeToStreamAsync(stream, context, CancellationToken.None).ConfigureAwait(false);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            await stream.WriteAsync(_head, cancellationToken).ConfigureAwait(false);
            await stream.WriteAsync(_items, cancellationToken).ConfigureAwait(false);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _head.Length + _items.Length;
            return true;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "{Signal} export to {Endpoint} failed ({Why}); what it holds is dropped until it answers again")]
        public static partial void ExportFailed(ILogger logger, string signal, Uri endpoint, string why);

        [LoggerMessage(2, LogLevel.Information, "{Signal} export to {Endpoint} works again")]
        public static partial void Recovered(ILogger logger, string signal, Uri endpoint);
    }
}
