using System.Buffers;
using Gateway.Core.Errors;
using Gateway.Core.Json;
using Gateway.Core.Providers;
using Gateway.Core.Routing;
using Gateway.Core.Sse;
using Gateway.Server.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Pipeline.Dialects;

/// <summary>
/// One inbound API, as the pipeline sees it: how its requests become the canonical form (OpenAI's wire
/// format), when its bytes may pass through untouched, how canonical answers and streams become its
/// answers, and the shape of its errors. Intake, policies, routing, attempts, retries, fallbacks,
/// first-token failover and the record are the pipeline's: a dialect never sees them.
/// </summary>
internal abstract class InboundDialect
{
    /// <summary>What the request record calls it: <c>chat</c>, <c>messages</c>, <c>embeddings</c>.</summary>
    public abstract string Name { get; }

    /// <summary>How the request body is inspected (its model, its stream flag) and what is sent upstream.</summary>
    public abstract RequestKind Kind { get; }

    public ProviderOperation Operation => Kind == RequestKind.Embeddings ? ProviderOperation.Embeddings : ProviderOperation.ChatCompletions;

    /// <summary>The client's body is already canonical: policies read it and providers take it as it is.</summary>
    public virtual bool IsCanonical => true;

    /// <summary>
    /// The dialect's requests name their model outside the body (Gemini: in the URL), so the body is made
    /// canonical as soon as it is read (<see cref="FromClient"/>) and the pipeline sees only the canonical form.
    /// </summary>
    public virtual bool ConvertsAtIntake => false;

    /// <summary>Writes the canonical request for a dialect that <see cref="ConvertsAtIntake"/>: the model and stream flag from the URL, the rest from the body.</summary>
    public virtual GatewayError? FromClient(HttpContext context, ReadOnlyMemory<byte> body, IBufferWriter<byte> output, ILogger logger) =>
        throw new NotSupportedException($"the {Name} dialect reads its requests as they come");

    /// <summary>The gateway key may also come in <c>x-goog-api-key</c> or <c>?key=</c>.</summary>
    public virtual bool AcceptsGoogleKeys => false;

    /// <summary>Where the 401 tells the client to put its key.</summary>
    public virtual string KeyHint => "'Authorization: Bearer <key>' or 'x-api-key: <key>'";

    /// <summary>A problem with the request's headers, found before its body is read.</summary>
    public virtual GatewayError? CheckHeaders(HttpRequest request) => null;

    /// <summary>Writes the canonical form of a non-canonical client body (the model named as the client did).</summary>
    public virtual GatewayError? ToCanonical(ReadOnlyMemory<byte> body, string model, IBufferWriter<byte> output, ILogger logger) =>
        throw new NotSupportedException($"the {Name} dialect is canonical");

    /// <summary>
    /// Writes the canonical request for one deployment: the model spliced in, usage asked for on a stream
    /// (<paramref name="ensureUsage"/>) so every stream is counted.
    /// </summary>
    public virtual void WriteUpstream(ReadOnlySpan<byte> json, in RequestShape shape, ReadOnlySpan<byte> modelJson, in ModelRoute route, bool ensureUsage, PooledBufferWriter output) =>
        RequestRewriter.Rewrite(json, shape, modelJson, ensureUsage, output);

    /// <summary>
    /// Whether every deployment the route may reach speaks this dialect natively, so the client's bytes
    /// go through with only the model rewritten and the answer comes back untouched. Only asked when no
    /// policy binds the request: a policy always sees the canonical form.
    /// </summary>
    public virtual bool ServesNatively(in ModelRoute route) => false;

    /// <summary>Writes what a provider that speaks the dialect is sent: by default the client's bytes with the model rewritten.</summary>
    /// <param name="json">The body the pipeline read (<paramref name="shape"/> is its shape).</param>
    /// <param name="clientBody">The client's own bytes (the same as <paramref name="json"/> unless the dialect converts at intake).</param>
    public virtual void WriteNative(ReadOnlySpan<byte> json, ReadOnlySpan<byte> clientBody, in RequestShape shape, ReadOnlySpan<byte> modelJson, PooledBufferWriter output) =>
        RequestRewriter.Rewrite(json, shape, modelJson, ensureUsage: false, output);

    /// <summary>Sends the client's own bytes (model rewritten) to a provider that speaks the dialect.</summary>
    public virtual ValueTask<UpstreamResult> SendNativeAsync(IProvider provider, ProviderCall call, HttpRequest request, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"the {Name} dialect has no native providers");

    /// <summary>What a native stream does frame by frame (forwarded, read for usage and its end).</summary>
    public virtual ISseFrameOutput NativeStreamOutput() => throw new NotSupportedException($"the {Name} dialect has no native providers");

    /// <summary>The usage of a whole native answer.</summary>
    public virtual bool TryReadNativeUsage(ReadOnlySpan<byte> answer, out TokenUsage usage)
    {
        usage = default;
        return false;
    }

    /// <summary>What a canonical stream becomes for this dialect's client, frame by frame.</summary>
    /// <param name="clientAskedUsage">The client asked for the usage chunk itself (else the gateway asked for it and drops it).</param>
    /// <param name="canonicalRequest">The canonical request as sent (empty when none was: a policy answered), valid for the whole stream.</param>
    public abstract ISseFrameOutput StreamOutput(GatewayRequest request, string model, bool clientAskedUsage, ReadOnlyMemory<byte> canonicalRequest);

    /// <summary>The content type of the client's event stream, given the upstream's.</summary>
    public virtual string StreamContentType(string? upstream) => upstream ?? "text/event-stream";

    /// <summary>
    /// Writes the client's answer for a successful canonical answer; returns false without writing when
    /// the canonical bytes are the answer as they are.
    /// </summary>
    public virtual bool TryWriteAnswer(ReadOnlyMemory<byte> canonical, string model, IBufferWriter<byte> output, out GatewayError? error)
    {
        error = null;
        return false;
    }

    /// <summary>The error shape this dialect's SDKs parse; a provider's own error body in the same shape is passed on as it is.</summary>
    public virtual string ErrorFormat => OpenAiErrorJson.Format;

    public virtual ReadOnlyMemory<byte> ErrorBody(GatewayError error) => OpenAiErrorJson.ToBytes(error);

    /// <summary>The event that ends a stream that failed after it started, in a form the dialect's SDKs raise.</summary>
    public virtual void WriteStreamError(IBufferWriter<byte> output, GatewayError error) => OpenAiErrorJson.WriteSseEvent(output, error);

    /// <summary>OpenAI's error shape: every route that is not a dialect's (404, 405, /v1/models) answers in it.</summary>
    public static readonly InboundDialect Default = new ChatDialect();
}
