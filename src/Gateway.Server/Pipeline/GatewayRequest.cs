using System.Diagnostics;
using Gateway.Core;
using Gateway.Core.Errors;
using Gateway.Core.Sse;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.ObjectPool;

namespace Gateway.Server.Pipeline;

/// <summary>
/// Everything the pipeline learns about one request on a model route, kept as an <see cref="HttpContext"/>
/// feature from its first byte to its record: the snapshot it read once, its key, dialect and model, where
/// it was sent, its timings, tokens and outcome. Pooled: reset and reused, never allocated per request.
/// </summary>
internal sealed class GatewayRequest
{
    private static readonly ObjectPool<GatewayRequest> Pool = new DefaultObjectPool<GatewayRequest>(new Policy(), Environment.ProcessorCount * 64);

    /// <summary>The configuration this request runs on, read once as it arrived; a reload does not move it.</summary>
    public GatewaySnapshot Snapshot { get; private set; } = null!;
    public long Started { get; private set; }
    public string Dialect { get; set; } = "";
    /// <summary>The key the request was accepted with.</summary>
    public Gateway.Core.Auth.GatewayKey? Key { get; set; }
    public string? KeyId => Key?.Id;
    /// <summary>What the request holds against its limits and budgets until it ends (settled by the router).</summary>
    public Gateway.Core.Governance.Reservation Reservation { get; set; }
    /// <summary>The request's place in a trace: inactive unless something records spans or the client sent a trace to continue.</summary>
    public Observability.Tracing.RequestTrace Trace { get; set; }
    /// <summary>Where its attempts' spans go (set with <see cref="Trace"/>).</summary>
    public Observability.Tracing.GatewayTracer? Tracer { get; set; }
    public string? Model { get; set; }
    /// <summary>The policies bound to this request; null when none were (never an empty chain).</summary>
    public Gateway.Policies.PolicyChain? Policies { get; set; }
    public bool Stream { get; set; }
    public string? Provider { get; private set; }
    public string? ProviderModel { get; private set; }
    public int Attempts { get; private set; }
    public string? Fallback { get; private set; }
    public TokenUsage? Usage { get; set; }
    public string? ErrorCode { get; private set; }
    public RequestOutcome? Outcome { get; set; }
    /// <summary>What the response cache did (<c>hit</c>, <c>miss</c>, <c>bypass</c>, <c>refresh</c>); null when the model is not cached.</summary>
    public string? Cache { get; set; }
    /// <summary>How close the prompt was to the one a semantic hit answered.</summary>
    public double? CacheSimilarity { get; set; }
    /// <summary>The request as sent and the answer as kept (after policies, PII placeholders not put back), when <c>storage.logBodies</c> is on.</summary>
    public string? RequestBody { get; private set; }
    public string? ResponseBody { get; private set; }

    /// <summary>Keeps a body for the request log when the configuration asks for bodies (cut at <see cref="Gateway.Core.Config.StorageConfig.MaxLoggedBodyChars"/>).</summary>
    public void KeepBody(ReadOnlySpan<byte> body, bool answer)
    {
        if (!Snapshot.Config.Storage.LogBodies) return;
        int max = Gateway.Core.Config.StorageConfig.MaxLoggedBodyChars;
        string text = System.Text.Encoding.UTF8.GetString(body.Length > max * 4 ? body[..(max * 4)] : body);
        if (text.Length > max) text = text[..max] + $"...[cut at {max} characters]";
        if (answer) ResponseBody = text;
        else RequestBody = text;
    }
    private long _upstreamStarted, _upstreamEnded, _firstToken;

    /// <summary>The stream output of an OpenAI client's stream, kept with the request instead of made per stream.</summary>
    public OpenAiFrameOutput OpenAiOutput { get; } = new(stripUsageChunk: false);

    public static GatewayRequest Rent(GatewaySnapshot snapshot, long started)
    {
        var request = Pool.Get();
        request.Snapshot = snapshot;
        request.Started = started;
        return request;
    }

    public static void Return(GatewayRequest request) => Pool.Return(request);

    /// <summary>The request's feature, when it is on a model route.</summary>
    public static GatewayRequest? Of(HttpContext context) => context.Features.Get<GatewayRequest>();

    /// <summary>A call is about to go out (the first one starts the upstream clock).</summary>
    public void Sending(long timestamp)
    {
        if (_upstreamStarted == 0) _upstreamStarted = timestamp;
    }

    /// <summary>Where the request went, after the attempts: the last deployment tried.</summary>
    /// <param name="model">The deployment's model id; null for a <c>provider/model</c> request, whose id is the rest of the name.</param>
    public void SentTo(string provider, string? model, int attempts, string? fallback)
    {
        Provider = provider;
        ProviderModel = model;
        Attempts = attempts;
        Fallback = fallback;
    }

    /// <summary>The provider's part is over: its answer was read or relayed to the end, or it failed.</summary>
    public void UpstreamDone(long timestamp) => _upstreamEnded = timestamp;

    /// <summary>The client got its first event (kept from the first call).</summary>
    public void FirstToken(long timestamp)
    {
        if (_firstToken == 0) _firstToken = timestamp;
    }

    /// <summary>An error answered the request (or ended its stream): its code, and how the request ended.</summary>
    public void Failed(GatewayError error)
    {
        ErrorCode = error.Code;
        Outcome ??= OutcomeOf(error);
    }

    internal static RequestOutcome OutcomeOf(GatewayError error) => error switch
    {
        { Code: "policies_busy" or "budget_unavailable" } or { Source: ErrorSource.Client, Code: "rate_limit_exceeded" or "budget_exceeded" } => RequestOutcome.Limited,
        { Code: "policy_rejected" or "policy_failed" or "request_not_inspectable" or "answer_not_inspectable" } or { Source: ErrorSource.Policy } => RequestOutcome.PolicyRefused,
        { Status: 401 } => RequestOutcome.Unauthorized,
        { Source: ErrorSource.Client } => RequestOutcome.Invalid,
        { Source: ErrorSource.Timeout } => RequestOutcome.Timeout,
        { Source: ErrorSource.Upstream } => RequestOutcome.ProviderError,
        { Status: 429 } => RequestOutcome.Limited,
        _ => RequestOutcome.GatewayError,
    };

    /// <summary>The record of the request, now that it has ended.</summary>
    public RequestRecord ToRecord(HttpContext context, long now)
    {
        bool gone = context.RequestAborted.IsCancellationRequested;
        int status = context.Response.StatusCode;
        var outcome = Outcome ?? (gone ? RequestOutcome.ClientGone : status < 400 ? RequestOutcome.Answered : RequestOutcome.GatewayError);
        // A provider/model request's model id is the rest of the name it asked for.
        string? providerModel = ProviderModel ?? (Provider is { } p && Model is { } m && m.Length > p.Length && m.StartsWith(p, StringComparison.Ordinal) && m[p.Length] == '/'
            ? m[(p.Length + 1)..] : Model);
        return new RequestRecord
        {
            RequestId = context.TraceIdentifier,
            Method = context.Request.Method,
            Path = context.Request.Path.Value ?? "",
            Dialect = Dialect,
            KeyId = KeyId,
            Team = Key?.Governance.Team,
            Tenant = Key?.Governance.Tenant,
            Model = Model,
            Provider = Provider,
            ProviderModel = providerModel,
            Attempts = Attempts,
            Fallback = Fallback,
            Stream = Stream,
            // A client that left never got a status; 499 says so (nginx's convention).
            Status = outcome == RequestOutcome.ClientGone ? 499 : status,
            ErrorCode = ErrorCode,
            Outcome = outcome,
            Total = Stopwatch.GetElapsedTime(Started, now),
            Upstream = _upstreamStarted == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(_upstreamStarted, _upstreamEnded == 0 ? now : _upstreamEnded),
            TimeToFirstToken = _firstToken == 0 ? null : Stopwatch.GetElapsedTime(Started, _firstToken),
            Usage = Usage,
            CostNanos = Cost(providerModel),
            RequestBody = RequestBody,
            ResponseBody = ResponseBody,
            Policies = Policies?.Names,
            Cache = Cache,
            CacheSimilarity = CacheSimilarity,
        };
    }

    /// <summary>The usage at the price of the deployment that answered (the configuration's, else the list price).</summary>
    private long? Cost(string? providerModel) =>
        Usage is { } usage && Provider is { } provider && providerModel is not null && Snapshot.Providers.TryGetValue(provider, out var instance)
        && Snapshot.Pricing.Find(provider, instance.Config.Type, providerModel, Model) is { } price
            ? price.CostNanos(usage)
            : null;

    private void Reset()
    {
        Snapshot = null!;
        Started = 0;
        Dialect = "";
        Key = null;
        Reservation = default;
        Trace = default;
        Tracer = null;
        Policies = null;
        RequestBody = ResponseBody = null;
        Model = Provider = ProviderModel = Fallback = ErrorCode = null;
        Stream = false;
        Attempts = 0;
        Usage = null;
        Outcome = null;
        Cache = null;
        CacheSimilarity = null;
        _upstreamStarted = _upstreamEnded = _firstToken = 0;
    }

    private sealed class Policy : IPooledObjectPolicy<GatewayRequest>
    {
        public GatewayRequest Create() => new();

        public bool Return(GatewayRequest request)
        {
            request.Reset();
            return true;
        }
    }
}
