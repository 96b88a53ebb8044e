using System.Diagnostics;
using Gateway.Core.Providers;
using Gateway.Server.Observability.Otlp;
using Gateway.Server.Pipeline;
using Microsoft.AspNetCore.Http;

namespace Gateway.Server.Observability.Tracing;

/// <summary>A request's place in a trace: its span's context, the client's span above it, and whether it is recorded.</summary>
internal readonly record struct RequestTrace(TraceParent Context, ulong ParentSpanId, string? TraceState, bool Recorded)
{
    /// <summary>False when nothing traces and the client sent no trace: no header goes upstream, nothing is recorded.</summary>
    public bool IsActive => Context.TraceId != UInt128.Zero;
}

/// <summary>One upstream attempt's span: its id (the provider's parent) and when it started.</summary>
internal readonly record struct AttemptTrace(ulong SpanId, long Started)
{
    public bool IsActive => SpanId != 0;
}

/// <summary>
/// Spans per OpenTelemetry's GenAI conventions: one per model request (server) and one per upstream attempt
/// (client), under the client's W3C <c>traceparent</c> when it sent one, exported over OTLP. A recorded span is
/// written as OTLP protobuf the moment it ends, straight from what the request already knows (its record, the
/// attempt's result), into the exporter's batch: no span object is made, kept or collected. With no exporter
/// configured nothing is recorded, but a client's trace still reaches the provider.
/// </summary>
internal sealed class GatewayTracer
{
    /// <summary>The instrumentation scope the spans are exported under.</summary>
    public const string ScopeName = "Gateway";

    private readonly OtlpTraceExporter? _exporter;
    private readonly TraceSampler _sampler;
    private readonly Random _random;
    private readonly long _anchorUnixNanos, _anchorTimestamp;

    [ThreadStatic] private static byte[]? t_scratch;

    /// <param name="random">Where ids come from: shared by every request thread, so it must be thread-safe (<see cref="Random.Shared"/>).</param>
    public GatewayTracer(OtlpTraceExporter? exporter, TraceSampler sampler, TimeProvider time, Random random)
    {
        _exporter = exporter;
        _sampler = sampler;
        _random = random;
        // Span times are wall-clock nanoseconds: one reading of the clock, then the monotonic timestamps the pipeline keeps.
        _anchorTimestamp = Stopwatch.GetTimestamp();
        _anchorUnixNanos = (time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;
    }

    /// <summary>A tracer that records nothing (no OTLP endpoint configured): it only carries a client's trace on.</summary>
    public static GatewayTracer Passthrough(TimeProvider time) =>
        new(null, TraceSampler.FromEnvironment(new Dictionary<string, string>()), time, Random.Shared);

    public bool Records => _exporter is not null;

    /// <summary>The request's trace: the client's continued, or a new one when spans are recorded.</summary>
    public RequestTrace StartRequest(HttpContext context)
    {
        var headers = context.Request.Headers;
        var traceparent = headers["traceparent"];
        TraceParent? parent = traceparent.Count == 1 && traceparent[0] is { } header && TraceParent.TryParse(header, out var parsed) ? parsed : null;
        if (parent is null && _exporter is null) return default;
        string? state = parent is not null && headers["tracestate"] is { Count: 1 } tracestate ? tracestate[0] : null;
        UInt128 traceId = parent?.TraceId ?? NewTraceId();
        bool recorded = _exporter is not null && _sampler.ShouldSample(parent, traceId);
        if (parent is null && !recorded) return default;
        // Unrecorded, the client's flags go on as they came; recorded, the span says it is sampled.
        byte flags = recorded ? TraceParent.Sampled : parent!.Value.Flags;
        return new RequestTrace(new TraceParent(traceId, NewSpanId(), flags), parent?.SpanId ?? 0, state, recorded);
    }

    /// <summary>An attempt's span id and the <c>traceparent</c> its provider gets.</summary>
    public AttemptTrace StartAttempt(in RequestTrace request, out TraceHeaders headers)
    {
        headers = default;
        if (!request.IsActive) return default;
        var attempt = new AttemptTrace(NewSpanId(), Stopwatch.GetTimestamp());
        headers = new TraceHeaders((request.Context with { SpanId = attempt.SpanId }).ToString(), request.TraceState);
        return attempt;
    }

    /// <summary>Ends an attempt's span with what came back: a status, or the error that ended it.</summary>
    public void EndAttempt(in RequestTrace request, in AttemptTrace attempt, IProvider provider, ReadOnlySpan<byte> model, ProviderOperation operation, in UpstreamResult result)
    {
        if (!request.Recorded || !attempt.IsActive || _exporter is null) return;
        var tags = ProviderTags.Of(provider);
        var w = new ProtoWriter(Scratch());
        w.Message(2, out int span); // ScopeSpans.spans
        Ids(ref w, request.Context.TraceId, attempt.SpanId, request.TraceState, request.Context.SpanId);
        string operationName = operation == ProviderOperation.Embeddings ? "embeddings" : "chat";
        w.Message(5, out int name);
        w.Append(operationName);
        w.AppendBytes(" "u8);
        AppendUtf8Text(ref w, model);
        w.EndLength(name);
        w.VarintField(6, 3); // SPAN_KIND_CLIENT
        w.Fixed64Field(7, UnixNanos(attempt.Started));
        w.Fixed64Field(8, UnixNanos(Stopwatch.GetTimestamp()));
        w.Attribute(9, "gen_ai.operation.name"u8, operationName);
        w.Attribute(9, "gen_ai.provider.name"u8, tags.Type);
        w.BeginAttribute(9, "gen_ai.request.model"u8, out int kv, out int any);
        w.Message(1, out int text);
        AppendUtf8Text(ref w, model);
        w.EndLength(text);
        w.EndAttribute(kv, any);
        w.Attribute(9, "gateway.provider"u8, tags.Name);
        if (tags.Address is not null)
        {
            w.Attribute(9, "server.address"u8, tags.Address);
            w.Attribute(9, "server.port"u8, tags.Port);
        }
        if (result.Response is { } response) w.Attribute(9, "http.response.status_code"u8, response.Status);
        if (result.Error is { } error)
        {
            w.Attribute(9, "error.type"u8, error.Code);
            ErrorStatus(ref w, error.Message);
        }
        else if (result.Canceled)
            w.Attribute(9, "error.type"u8, "canceled");
        else if (result.Response is { Status: >= 500 })
            ErrorStatus(ref w, default);
        w.Fixed32Field(16, TraceParent.Sampled | HasIsRemote);
        w.EndLength(span);
        _exporter.Add(w.Written);
    }

    /// <summary>
    /// The request's span from its record. It carries what a trace query needs and nothing its name or its
    /// attempt spans already say: a tag that only restates the usual case (one attempt, answered) is left off.
    /// </summary>
    public void EndRequest(in RequestTrace request, long started, in RequestRecord record, string? providerType)
    {
        if (!request.Recorded || _exporter is null) return;
        bool embeddings = record.Dialect == "embeddings";
        string operation = embeddings ? "embeddings" : "chat";
        var w = new ProtoWriter(Scratch());
        w.Message(2, out int span);
        Ids(ref w, request.Context.TraceId, request.Context.SpanId, request.TraceState, request.ParentSpanId);
        w.Message(5, out int name);
        w.Append(operation);
        if (record.Model is { } model)
        {
            w.AppendBytes(" "u8);
            w.Append(model);
        }
        w.EndLength(name);
        w.VarintField(6, 2); // SPAN_KIND_SERVER
        ulong start = UnixNanos(started);
        w.Fixed64Field(7, start);
        w.Fixed64Field(8, start + (ulong)(record.Total.Ticks * 100));
        w.Attribute(9, "gen_ai.operation.name"u8, operation);
        if (providerType is not null) w.Attribute(9, "gen_ai.provider.name"u8, providerType);
        if (record.Model is not null) w.Attribute(9, "gen_ai.request.model"u8, record.Model);
        if (record.ProviderModel is not null) w.Attribute(9, "gen_ai.response.model"u8, record.ProviderModel);
        if (record.Usage is { } usage)
        {
            w.Attribute(9, "gen_ai.usage.input_tokens"u8, usage.PromptTokens);
            w.Attribute(9, "gen_ai.usage.output_tokens"u8, usage.CompletionTokens);
        }
        w.Attribute(9, "http.response.status_code"u8, record.Status);
        w.Attribute(9, "gateway.request_id"u8, record.RequestId);
        if (record.KeyId is not null) w.Attribute(9, "gateway.key"u8, record.KeyId);
        if (record.Provider is not null) w.Attribute(9, "gateway.provider"u8, record.Provider);
        if (record.Attempts != 1) w.Attribute(9, "gateway.attempts"u8, record.Attempts);
        if (record.Fallback is not null) w.Attribute(9, "gateway.fallback"u8, record.Fallback);
        if (record.Outcome != RequestOutcome.Answered) w.Attribute(9, "gateway.outcome"u8, OutcomeNames[(int)record.Outcome]);
        if (record.CostNanos is { } cost) w.Attribute(9, "gateway.cost_usd"u8, cost / 1e9);
        if (record.TimeToFirstToken is { } ttft) w.Attribute(9, "gen_ai.server.time_to_first_token"u8, ttft.TotalSeconds);
        if (record.Status >= 500 || record.Outcome is RequestOutcome.ProviderError or RequestOutcome.Timeout or RequestOutcome.GatewayError)
        {
            w.Attribute(9, "error.type"u8, record.ErrorCode ?? StatusText(record.Status));
            ErrorStatus(ref w, record.ErrorCode);
        }
        w.Fixed32Field(16, TraceParent.Sampled | HasIsRemote | (request.ParentSpanId != 0 ? IsRemote : 0u));
        w.EndLength(span);
        _exporter.Add(w.Written);
    }

    // Span.flags: the W3C flags, then whether the parent's remoteness is known and whether it is remote.
    private const uint HasIsRemote = 0x100, IsRemote = 0x200;

    private static readonly string[] OutcomeNames = Enum.GetNames<RequestOutcome>();

    private static string StatusText(int status) => status.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static void Ids(ref ProtoWriter w, UInt128 traceId, ulong spanId, string? traceState, ulong parentSpanId)
    {
        Span<byte> id = stackalloc byte[16];
        TraceParent.WriteTraceId(traceId, id);
        w.BytesField(1, id);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(id, spanId);
        w.BytesField(2, id[..8]);
        if (traceState is { Length: > 0 }) w.StringField(3, traceState);
        if (parentSpanId != 0)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(id, parentSpanId);
            w.BytesField(4, id[..8]);
        }
    }

    /// <summary>Status { message = 2; code = 3 (ERROR = 2) }.</summary>
    private static void ErrorStatus(ref ProtoWriter w, string? message)
    {
        w.Message(15, out int status);
        if (message is { Length: > 0 }) w.StringField(2, message);
        w.VarintField(3, 2);
        w.EndLength(status);
    }

    /// <summary>A provider's model name as it was sent (UTF-8), cut to the string limit; bytes that are not UTF-8 are written as U+FFFD.</summary>
    private static void AppendUtf8Text(ref ProtoWriter w, ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length <= ProtoWriter.MaxString && System.Text.Unicode.Utf8.IsValid(utf8)) w.AppendBytes(utf8);
        else w.Append(System.Text.Encoding.UTF8.GetString(utf8[..Math.Min(utf8.Length, ProtoWriter.MaxString)]));
    }

    /// <summary>Room for the largest span: about twenty attributes, each value cut at <see cref="ProtoWriter.MaxString"/> bytes.</summary>
    private static byte[] Scratch() => t_scratch ??= new byte[32 * 1024];

    private ulong UnixNanos(long timestamp) =>
        (ulong)(_anchorUnixNanos + (long)((timestamp - _anchorTimestamp) * (1e9 / Stopwatch.Frequency)));

    private UInt128 NewTraceId()
    {
        UInt128 id;
        do id = new UInt128((ulong)_random.NextInt64(long.MinValue, long.MaxValue), (ulong)_random.NextInt64(long.MinValue, long.MaxValue));
        while (id == UInt128.Zero);
        return id;
    }

    private ulong NewSpanId()
    {
        ulong id;
        do id = (ulong)_random.NextInt64(long.MinValue, long.MaxValue);
        while (id == 0);
        return id;
    }

    /// <summary>A provider's span attributes, worked out once per provider instance (its URL is not parsed per call).</summary>
    private sealed class ProviderTags
    {
        private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IProvider, ProviderTags> Cache = new();

        public required string Type { get; init; }
        public required string Name { get; init; }
        public string? Address { get; init; }
        public int Port { get; init; }

        public static ProviderTags Of(IProvider provider) => Cache.GetValue(provider, static p =>
        {
            Uri? uri = p.Config.BaseUrl is { } url && Uri.TryCreate(url, UriKind.Absolute, out var parsed) ? parsed : null;
            return new ProviderTags { Type = p.Config.Type, Name = p.Name, Address = uri?.Host, Port = uri?.Port ?? 0 };
        });
    }
}
