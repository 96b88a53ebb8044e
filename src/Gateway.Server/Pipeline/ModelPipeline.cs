using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Gateway.Core;
using Gateway.Core.Auth;
using Gateway.Core.Caching;
using Gateway.Core.Errors;
using Gateway.Core.Governance;
using Gateway.Core.Json;
using Gateway.Core.Providers;
using Gateway.Core.Routing;
using Gateway.Core.Sse;
using Gateway.Policies;
using Gateway.Server.Caching;
using Gateway.Server.Governance;
using Gateway.Server.Http;
using Gateway.Server.Pipeline.Dialects;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Pipeline;

/// <summary>
/// The one path of every model request, whatever its dialect: intake (key, bounded body, one-pass
/// validation), the canonical form (or the dialect's own bytes untouched when nothing needs them),
/// policies, routing, attempts with retries, fallbacks and first-token failover, then the answer: a
/// stream relayed frame by frame through the dialect's output, a whole answer read, counted, shown to
/// the answer policies and written in the dialect's form. What it learns goes into the request's
/// <see cref="GatewayRequest"/>; the router hands the record to the sinks when the request ends.
/// </summary>
internal sealed partial class ModelPipeline(RetryBudget retries, GovernanceGate governor, DirectoryHolder directory, ResponseCache cache, ILogger<ModelPipeline> logger)
{
    /// <summary>The output a request without <c>max_tokens</c> reserves against token limits and budgets until it settles.</summary>
    public const int DefaultOutputReserve = 4096;

    public async Task HandleAsync(HttpContext context, InboundDialect dialect)
    {
        var request = GatewayRequest.Of(context) ?? throw new InvalidOperationException("a model route runs with its request feature");
        request.Dialect = dialect.Name;
        if (dialect.CheckHeaders(context.Request) is { } headerError)
        {
            await ErrorResponses.WriteAsync(context, headerError, request.Started, dialect: dialect).ConfigureAwait(false);
            return;
        }
        var snapshot = request.Snapshot;
        var intake = await RequestIntake.ReadAsync(context, snapshot, directory.Current, dialect, logger).ConfigureAwait(false);
        if (intake.Body is not { } body)
        {
            await ErrorResponses.WriteAsync(context, intake.Error!, request.Started, dialect: dialect).ConfigureAwait(false);
            return;
        }
        using (body)
        using (intake.Original)
            await RunAsync(context, request, dialect, body, intake.Shape, intake.Key!, intake.Original).ConfigureAwait(false);
    }

    /// <param name="original">The client's own bytes when the dialect made the body canonical at intake (a native provider gets them).</param>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask RunAsync(HttpContext context, GatewayRequest request, InboundDialect dialect, PooledBody body, RequestShape shape, GatewayKey key,
        PooledBody? original)
    {
        var snapshot = request.Snapshot;
        string model = RequestIntake.ClientModel(body, shape);
        request.Model = model;
        request.Stream = shape.Stream && dialect.Kind != RequestKind.Embeddings;
        // A model the key may not use is a 403 before any policy sees it, whatever a policy would have said.
        // The policies are the snapshot's: the ones built with the configuration this request runs on.
        var chain = snapshot.Policies is PolicySet { IsEmpty: false } policySet && key.MayUse(model) ? policySet.Select(model, key.Id) : PolicyChain.Empty;
        if (!chain.IsEmpty) request.Policies = chain;

        // A route picked but never sent (a policy answered or refused, or the request was routed again)
        // gives up any breaker probe it claimed, so the next request can probe at once.
        ModelRoute? unsent = null;
        ModelRoute route;
        GatewayError? error;
        if (chain.IsEmpty)
        {
            if ((error = ModelRouter.Resolve(snapshot, body.Span, shape, key, out route)) is not null)
            {
                await ErrorResponses.WriteAsync(context, error, request.Started, dialect: dialect).ConfigureAwait(false);
                return;
            }
            // Nothing needs the body: the client's own bytes go out with only the model rewritten (or, to a
            // provider that speaks the client's dialect, as they came).
            if (dialect.ServesNatively(route))
            {
                await SendAsync(context, request, dialect, route, new Sender(dialect, body.Memory, shape, native: true, request.Stream, (original ?? body).Memory),
                    model, shape, null, key).ConfigureAwait(false);
                return;
            }
            if (dialect.IsCanonical)
            {
                await SendAsync(context, request, dialect, route, new Sender(dialect, body.Memory, shape, native: false, request.Stream, default), model, shape, null, key).ConfigureAwait(false);
                return;
            }
            unsent = route;
        }

        PooledBufferWriter? canonical = null;
        PooledBody? changed = null;
        try
        {
            var json = body.Memory;
            if (!dialect.IsCanonical)
            {
                canonical = new PooledBufferWriter(body.Length + 512);
                if ((error = dialect.ToCanonical(body.Memory, model, canonical, logger)) is not null)
                {
                    await ErrorResponses.WriteAsync(context, error, request.Started, dialect: dialect).ConfigureAwait(false);
                    return;
                }
                json = canonical.WrittenMemory;
            }

            RequestIntake.BoundPolicies? bound = null;
            string? changedBy = null;
            if (!chain.IsEmpty)
            {
                bound = new RequestIntake.BoundPolicies(chain, RequestPolicies.Context(model, key, chain, context.Request, snapshot, dialect.Kind));
                var result = await RequestPolicies.RunAsync(chain, json, bound.Context, logger).ConfigureAwait(false);
                if (result.Answer is { } answer)
                {
                    using (answer) await AnswerFromPolicyAsync(context, request, dialect, answer, model, shape).ConfigureAwait(false);
                    return;
                }
                if (result.Error is { } refused)
                {
                    await ErrorResponses.WriteAsync(context, refused, request.Started, dialect: dialect).ConfigureAwait(false);
                    return;
                }
                changed = result.NewBody;
                changedBy = result.Policy;
                if (changed is not null) json = changed.Memory;
            }

            var jsonShape = shape;
            if (changed is not null || !dialect.IsCanonical)
            {
                // What a policy wrote is checked like what a client sent; a broken one is the policy's fault.
                // A translated dialect's canonical form is a chat request.
                if (RequestInspector.Inspect(json.Span, dialect.IsCanonical ? dialect.Kind : RequestKind.ChatCompletions, out jsonShape) is { } invalid)
                {
                    error = changedBy is null ? invalid : RequestPolicies.Failed(changedBy, $"it returned a request the gateway cannot send ({invalid.Message})");
                    await ErrorResponses.WriteAsync(context, error, request.Started, dialect: dialect).ConfigureAwait(false);
                    return;
                }
            }
            // Routed again only when the model bytes changed (a policy, or escaping): a second pick would
            // advance round-robin twice and could claim a breaker probe it never uses.
            if (unsent is { } first && jsonShape.RawModel(json.Span).SequenceEqual(shape.RawModel(body.Span)))
            {
                route = first;
                unsent = null;
            }
            else if ((error = ModelRouter.Resolve(snapshot, json.Span, jsonShape, key, out route)) is not null)
            {
                await ErrorResponses.WriteAsync(context, error, request.Started, dialect: dialect).ConfigureAwait(false);
                return;
            }
            await SendAsync(context, request, dialect, route, new Sender(dialect, json, jsonShape, native: false, request.Stream, default), model, shape, bound, key).ConfigureAwait(false);
        }
        finally
        {
            unsent?.NotSent();
            changed?.Dispose();
            canonical?.Dispose();
        }
    }

    /// <summary>How one attempt's request is written and sent: the canonical bytes, or the dialect's own to a provider that speaks it.</summary>
    /// <param name="json">The request as the pipeline reads it (canonical, or the dialect's own when it passes through): limits, budgets and the model come from it.</param>
    /// <param name="nativeBody">What a native provider is sent: the client's own bytes.</param>
    private readonly struct Sender(InboundDialect dialect, ReadOnlyMemory<byte> json, RequestShape shape, bool native, bool stream, ReadOnlyMemory<byte> nativeBody) : IAttemptSender
    {
        public bool Native => native;

        /// <summary>The request as it will be sent (after policies): what limits and budgets count.</summary>
        public ReadOnlySpan<byte> Json => json.Span;

        public ReadOnlyMemory<byte> JsonMemory => json;

        public int Length => json.Length;

        /// <summary>What goes to the provider, as the cache keys it: the client's own bytes to a native provider.</summary>
        public ReadOnlySpan<byte> Sent => native ? nativeBody.Span : json.Span;

        /// <summary>The model as routed: the group's name, or <c>provider/model</c>.</summary>
        public string Routed(in ModelRoute route) =>
            route.Group?.Name ?? route.Provider.Name + "/" + System.Text.Encoding.UTF8.GetString(RequestIntake.UpstreamModel(json, shape, route).Model.Span);

        public ReadOnlyMemory<byte> Write(in ModelRoute route, PooledBufferWriter output)
        {
            var (model, modelJson) = RequestIntake.UpstreamModel(json, shape, route);
            if (native) dialect.WriteNative(json.Span, nativeBody.Span, shape, modelJson.Span, output);
            else dialect.WriteUpstream(json.Span, shape, modelJson.Span, route, ensureUsage: stream, output);
            return model;
        }

        public ValueTask<UpstreamResult> SendAsync(IProvider provider, ProviderCall call, HttpRequest request, CancellationToken cancellationToken) =>
            native ? dialect.SendNativeAsync(provider, call, request, cancellationToken) : provider.SendAsync(call, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendAsync(HttpContext context, GatewayRequest request, InboundDialect dialect, ModelRoute route, Sender sender, string model,
        RequestShape clientShape, RequestIntake.BoundPolicies? bound, GatewayKey key)
    {
        bool stream = request.Stream;
        // Checked here first: with no cache configured the passthrough path makes no routed name (a string) per request.
        var ticket = request.Snapshot.Config.Cache.Enabled
            ? cache.Begin(request.Snapshot, context.Request, key, dialect.Name, dialect.Kind, sender.Routed(route), request.Model, sender.Sent, sender.Native, stream)
            : null;
        if (ticket is not null)
        {
            if (await cache.FindAsync(ticket, context.RequestAborted).ConfigureAwait(false) is var (hit, similarity))
            {
                await ReplayAsync(context, request, dialect, route, sender, hit, similarity, model, clientShape, bound, key).ConfigureAwait(false);
                return;
            }
            request.Cache = ticket.NotHit;
            context.Response.Headers[GatewayHeaders.Cache] = ticket.NotHit;
        }
        if (key.Governance.Scopes.Length > 0
            && await AdmitAsync(context, request, key, Demand(request, key, route, sender.Json, dialect.Kind != RequestKind.Embeddings)).ConfigureAwait(false) is { } refused)
        {
            route.NotSent();
            await ErrorResponses.WriteAsync(context, refused, request.Started, dialect: dialect).ConfigureAwait(false);
            return;
        }
        request.KeepBody(sender.Json, answer: false);
        var plan = new AttemptPlan(route) { Priority = AttemptPlan.PriorityOf(key, context.Request) };
        retries.Deposit();
        while (true)
        {
            using var sent = await UpstreamAttempts.SendAsync(context, plan, sender, RequestRewriter.MaxOutputLength(sender.Length, 1024),
                dialect.Operation, stream, request.Snapshot, retries, logger, request).ConfigureAwait(false);
            plan.WriteHeaders(context.Response);
            request.SentTo(sent.Provider.Name, plan.Route.Target?.Model, sent.WentOut ? plan.Attempts : plan.Attempts - 1, plan.Fallback);
            if (sent.Result.Response is not { } response)
            {
                request.UpstreamDone(Stopwatch.GetTimestamp());
                if (sent.Result.Error is { } upstreamError)
                    await ErrorResponses.WriteAsync(context, upstreamError, request.Started, sent.UpstreamTicks, dialect).ConfigureAwait(false);
                else if (sent.Deadline.Expired is { } limit)
                    await ErrorResponses.WriteAsync(context, GatewayError.UpstreamTimeout(sent.Provider.Name, sent.Deadline.ExpiredBeforeFirstByte ? "send a first byte" : "answer", limit),
                        request.Started, sent.UpstreamTicks, dialect).ConfigureAwait(false);
                else
                    request.Outcome = RequestOutcome.ClientGone; // nobody to answer
                return;
            }
            using (response)
            {
                if (stream && response.IsEventStream)
                {
                    var output = sender.Native ? dialect.NativeStreamOutput() : dialect.StreamOutput(request, model, clientShape.ClientWantsUsage, sender.JsonMemory);
                    CompletionRecorder? completion = null;
                    EventStreamRecorder? events = null;
                    if (ticket is { Writes: true })
                    {
                        if (sender.Native) output = events = new EventStreamRecorder(output, ticket.Settings.MaxEntryBytes);
                        else completion = new CompletionRecorder(ticket.Settings.MaxEntryBytes);
                    }
                    // No first token in time and nothing sent to the client yet: the next deployment may still answer.
                    if (await RelayStreamAsync(context, request, dialect, response, sent, output, sender.Native ? null : bound, sender.Native, completion) is not { } firstTokenTimeout)
                    {
                        if (ticket is not null && request.Outcome == RequestOutcome.Answered && (events?.Answer() ?? completion?.Answer()) is { } answer)
                            cache.Keep(ticket, answer.Span, events is null ? "application/json" : response.ContentType ?? "text/event-stream", request.Usage ?? default);
                        return;
                    }
                    sent.Failed();
                    if (await plan.NextAsync(request.Snapshot, firstTokenTimeout, retries, context.RequestAborted).ConfigureAwait(false))
                        continue;
                    plan.WriteHeaders(context.Response);
                    await ErrorResponses.WriteAsync(context, firstTokenTimeout, request.Started, sent.UpstreamTicks, dialect).ConfigureAwait(false);
                    return;
                }
                await CopyAnswerAsync(context, request, dialect, response, sent, model, sender.Native, bound, ticket).ConfigureAwait(false);
                return;
            }
        }
    }

    /// <summary>
    /// A cached answer served as if its provider had just sent it: through the same answer path (the
    /// policies' answer hooks, placeholders put back, the dialect's form, a stream when the client streams),
    /// counted against the key's request limits but not its tokens or budgets.
    /// </summary>
    /// <param name="similarity">A semantic hit's: how alike its prompt and the one it answered are.</param>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ReplayAsync(HttpContext context, GatewayRequest request, InboundDialect dialect, ModelRoute route, Sender sender, CachedAnswer hit,
        double? similarity, string model, RequestShape clientShape, RequestIntake.BoundPolicies? bound, GatewayKey key)
    {
        route.NotSent();
        if (key.Governance.Scopes.Length > 0 && await AdmitAsync(context, request, key, default).ConfigureAwait(false) is { } refused)
        {
            await ErrorResponses.WriteAsync(context, refused, request.Started, dialect: dialect).ConfigureAwait(false);
            return;
        }
        request.Cache = CacheResults.Hit;
        var headers = context.Response.Headers;
        headers[GatewayHeaders.Cache] = CacheResults.Hit;
        headers.Age = cache.AgeSeconds(hit).ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (similarity is { } alike)
        {
            request.CacheSimilarity = alike;
            headers[GatewayHeaders.CacheSimilarity] = alike.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture);
        }
        request.KeepBody(sender.Json, answer: false);
        var (body, contentType) = request.Stream && hit.Form == CachedForm.Completion ? (CachedReplay.Chunks(hit.Body), "text/event-stream; charset=utf-8") : (hit.Body, hit.ContentType);
        using var sent = SentCall.Replay(new UpstreamResponse(200, contentType, body.Length, new MemoryStream(body, writable: false), owner: null), route.Provider, context.RequestAborted);
        using var answer = sent.Result.Response!;
        if (request.Stream && answer.IsEventStream)
        {
            var output = sender.Native ? dialect.NativeStreamOutput() : dialect.StreamOutput(request, model, clientShape.ClientWantsUsage, sender.JsonMemory);
            await RelayStreamAsync(context, request, dialect, answer, sent, output, sender.Native ? null : bound, sender.Native, recorder: null).ConfigureAwait(false);
            return;
        }
        await CopyAnswerAsync(context, request, dialect, answer, sent, model, sender.Native, bound, ticket: null).ConfigureAwait(false);
    }

    /// <summary>
    /// What the request asks of its limits and budgets: its tokens (prompt estimate and the output it may ask for)
    /// and its worst-case cost; nothing when no level counts tokens or money.
    /// </summary>
    /// <param name="answersInTokens">The answer is text (chat, messages), not vectors (embeddings, which reserve no output).</param>
    private static (long Tokens, long Worst) Demand(GatewayRequest request, GatewayKey key, in ModelRoute route, ReadOnlySpan<byte> json, bool answersInTokens)
    {
        if (!key.Governance.NeedsTokens) return (0, 0);
        // Tokens a group already counted (it weighs them) are reused; else a byte estimate on the high side.
        // Counting with the tokenizer costs about 13 us per KB: more than the rest of the request.
        int prompt = route.Group is { CountsTokens: true } ? route.Request.EstimatedPromptTokens : PromptTokens.QuickEstimate(json);
        int maxOutput = answersInTokens ? PromptTokens.MaxOutput(json) : 0;
        int output = !answersInTokens ? 0 : maxOutput > 0 ? maxOutput : DefaultOutputReserve;
        return ((long)prompt + output, GovernanceCosts.WorstCase(request.Snapshot, route, request.Model, prompt, output));
    }

    /// <summary>
    /// Admits the request against its key's limits and budgets, reserving its <paramref name="demand"/> (settled when it
    /// ends); the refusal when a level has no room. Rate headers go on the answer either way. A cached answer
    /// (<c>default</c> demand) counts as a request, but holds no tokens and no money.
    /// </summary>
    private async ValueTask<GatewayError?> AdmitAsync(HttpContext context, GatewayRequest request, GatewayKey key, (long Tokens, long Worst) demand)
    {
        var (admission, reservation) = await governor.AdmitAsync(key.Governance.Scopes, demand.Tokens, demand.Worst).ConfigureAwait(false);
        request.Reservation = reservation;
        var headers = GovernanceCosts.RateHeaders(admission);
        if (admission.Allowed)
        {
            foreach (var (name, value) in headers) context.Response.Headers[name] = value;
            return null;
        }
        return GovernanceCosts.Refusal(admission, demand.Tokens, headers);
    }

    /// <returns>
    /// The timeout error when no first token came in time and nothing reached the client (the caller may
    /// try another deployment); otherwise null, the stream having been relayed or its failure answered.
    /// </returns>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<GatewayError?> RelayStreamAsync(HttpContext context, GatewayRequest request, InboundDialect dialect, UpstreamResponse upstream, SentCall sent,
        ISseFrameOutput output, RequestIntake.BoundPolicies? bound, bool native, CompletionRecorder? recorder)
    {
        var (deadline, provider, upstreamTicks) = (sent.Deadline, sent.Provider.Name, sent.UpstreamTicks);
        var response = context.Response;
        UpstreamAnswer.PrepareEventStream(response, dialect.StreamContentType(upstream.ContentType), upstream.RequestId, request.Started, upstreamTicks);
        // Frames stay zero-copy unless the provider's events need translating, a policy defines onChunk,
        // or placeholders are to be put back: then they go through those stages, in this one loop.
        List<IStreamTranslator>? stages = null;
        if (upstream.Translator is { } translator)
        {
            (stages = []).Add(translator);
            output.Translating(translator);
        }
        // The cache keeps the provider's answer: before the policies' stages, which a hit goes through again.
        if (recorder is not null) (stages ??= []).Add(recorder);
        if (bound is not null) PolicyStreams.AddStages(stages ??= [], bound, logger);
        if (stages is { Count: > 0 }) output = new FrameChain(stages, output, provider);
        var result = await SseRelay.RelayAsync(upstream.Body, response.BodyWriter, output, deadline.DataReceived, deadline.Token).ConfigureAwait(false);
        request.UpstreamDone(Stopwatch.GetTimestamp());
        if (result.FirstFrameTimestamp != 0) request.FirstToken(result.FirstFrameTimestamp);
        request.Usage = result.Usage;
        if (result.Status == SseRelayStatus.Completed)
        {
            request.Outcome = RequestOutcome.Answered;
            return null;
        }
        if (result.Status == SseRelayStatus.ClientGone || deadline.ClientGone)
        {
            request.Outcome = RequestOutcome.ClientGone;
            Log.ClientGone(logger, provider, result.FramesForwarded);
            return null;
        }

        var error = result.Failure ?? StreamError(deadline, result.Status, result.Error, provider, native ? "its end event" : "[DONE]");
        Log.StreamFailed(logger, provider, result.FramesForwarded, error.Message, context.TraceIdentifier);
        sent.Failed();
        if (!response.HasStarted && result.FramesForwarded == 0)
        {
            if (deadline.ExpiredBeforeFirstByte) return error;
            await ErrorResponses.WriteAsync(context, error, request.Started, upstreamTicks, dialect).ConfigureAwait(false);
            return null;
        }
        // Mid-stream: an error event the SDKs raise, and no proper end, so nobody mistakes this for a full answer.
        request.Failed(error);
        dialect.WriteStreamError(response.BodyWriter, error);
        await SseErrors.FlushAsync(response.BodyWriter, context.RequestAborted).ConfigureAwait(false);
        return null;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask CopyAnswerAsync(HttpContext context, GatewayRequest request, InboundDialect dialect, UpstreamResponse upstream, SentCall sent, string model,
        bool native, RequestIntake.BoundPolicies? bound, CacheTicket? ticket)
    {
        var (body, error) = await UpstreamAnswer.ReadAllAsync(sent, upstream).ConfigureAwait(false);
        long upstreamTicks = Stopwatch.GetTimestamp() - sent.UpstreamStarted;
        request.UpstreamDone(Stopwatch.GetTimestamp());
        if (body is null)
        {
            if (error is not null) await ErrorResponses.WriteAsync(context, error, request.Started, upstreamTicks, dialect).ConfigureAwait(false);
            else request.Outcome = RequestOutcome.ClientGone;
            return;
        }
        using (body)
        {
            bool ok = upstream.Status is >= 200 and < 300;
            if (ok && (native ? dialect.TryReadNativeUsage(body.Span, out var usage) : AnswerUsage.TryRead(body.Span, out usage))) request.Usage = usage;
            // The provider's answer, before the policies' answer hooks: a hit goes through them again.
            if (ok && ticket is not null) cache.Keep(ticket, body.Span, upstream.ContentType ?? "application/json", request.Usage ?? default);
            if (native)
            {
                request.KeepBody(body.Span, answer: true);
                await UpstreamAnswer.WriteAsync(context, upstream.Status, upstream.ContentType, body.Memory, upstream.RequestId, request.Started, upstreamTicks).ConfigureAwait(false);
                return;
            }
            var answer = body.Memory;
            PooledBody? changed = null;
            // Response hooks see answers, not provider errors, which go to the client as they are.
            // Embeddings answers are vectors: policies see the request's input, not the answer.
            if (bound is not null && bound.Context.Operation == PolicyOperation.Chat && ok)
            {
                var policy = await RequestPolicies.RunOnResponseAsync(bound.Chain, answer, bound.Context, logger, request).ConfigureAwait(false);
                if (policy.Error is { } refused)
                {
                    await ErrorResponses.WriteAsync(context, refused, request.Started, upstreamTicks, dialect).ConfigureAwait(false);
                    return;
                }
                changed = policy.NewBody;
                if (changed is not null) answer = changed.Memory;
            }
            else request.KeepBody(answer.Span, answer: true);
            using (changed)
                await WriteAnswerAsync(context, request, dialect, upstream.Status, upstream.ContentType, answer, model, upstream.RequestId, upstreamTicks).ConfigureAwait(false);
        }
    }

    /// <summary>A canonical answer in the dialect's form (a provider's error status passes as it came).</summary>
    private static async Task WriteAnswerAsync(HttpContext context, GatewayRequest request, InboundDialect dialect, int status, string? contentType,
        ReadOnlyMemory<byte> answer, string model, string? upstreamRequestId, long upstreamTicks)
    {
        using var translated = new PooledBufferWriter(answer.Length + 256);
        if (status is >= 200 and < 300 && dialect.TryWriteAnswer(answer, model, translated, out var error))
        {
            if (error is not null)
            {
                await ErrorResponses.WriteAsync(context, error, request.Started, upstreamTicks, dialect).ConfigureAwait(false);
                return;
            }
            (status, contentType, answer) = (200, "application/json", translated.WrittenMemory);
        }
        request.Outcome ??= status < 400 ? RequestOutcome.Answered : RequestOutcome.ProviderError;
        await UpstreamAnswer.WriteAsync(context, status, contentType, answer, upstreamRequestId, request.Started, upstreamTicks).ConfigureAwait(false);
    }

    /// <summary>A policy answered in the provider's place: its completion in the dialect's form, or its stream when the client asked for one.</summary>
    private static async Task AnswerFromPolicyAsync(HttpContext context, GatewayRequest request, InboundDialect dialect, PooledBody answer, string model, RequestShape shape)
    {
        request.Outcome = RequestOutcome.PolicyAnswered;
        // An embeddings answer has no canonical form to complete: the policy's object is the answer.
        if (dialect.Kind == RequestKind.Embeddings)
        {
            await UpstreamAnswer.WriteAsync(context, 200, "application/json", answer.Memory, null, request.Started, 0).ConfigureAwait(false);
            return;
        }
        var completion = PolicyAnswer.Read(answer.Span, model, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        if (completion is null)
        {
            request.Outcome = null;
            await ErrorResponses.WriteAsync(context, RequestPolicies.Failed("respond", "a policy responded with something that is not a chat completion (it needs choices[].message)"),
                request.Started, dialect: dialect).ConfigureAwait(false);
            return;
        }
        if (completion.Usage is { } usage) request.Usage = usage.ToTokenUsage();
        using var canonical = new PooledBufferWriter(1024);
        if (request.Stream)
        {
            // The canonical chunks, through the same output a provider's stream would go through.
            PolicyAnswer.WriteChunks(completion, includeUsage: true, canonical);
            var output = dialect.StreamOutput(request, model, shape.ClientWantsUsage, default);
            UpstreamAnswer.PrepareEventStream(context.Response, dialect.StreamContentType("text/event-stream; charset=utf-8"), null, request.Started, 0);
            var writer = context.Response.BodyWriter;
            for (var rest = canonical.WrittenMemory; rest.Length > 0;)
            {
                int end = rest.Span.IndexOf("\n\n"u8);
                int length = end < 0 ? rest.Length : end + 2;
                output.OnFrame(rest.Span[..length], writer);
                rest = rest[length..];
            }
            request.FirstToken(Stopwatch.GetTimestamp());
            await SseErrors.FlushAsync(writer, context.RequestAborted).ConfigureAwait(false);
            return;
        }
        PolicyAnswer.WriteJson(completion, canonical);
        await WriteAnswerAsync(context, request, dialect, 200, "application/json", canonical.WrittenMemory, model, null, 0).ConfigureAwait(false);
        request.Outcome = RequestOutcome.PolicyAnswered;
    }

    /// <summary>Why a stream that did not complete failed, as the client should hear it.</summary>
    internal static GatewayError StreamError(UpstreamDeadline deadline, SseRelayStatus status, Exception? exception, string provider, string endEvent = "[DONE]") =>
        deadline.Expired is { } limit
            ? GatewayError.UpstreamTimeout(provider, deadline.ExpiredLimit switch
            {
                DeadlineLimit.FirstByte => "send a first token",
                DeadlineLimit.Idle => "send the next stream event",
                _ => "finish the stream",
            }, limit)
            : status switch
            {
                SseRelayStatus.UpstreamEndedEarly => GatewayError.UpstreamBroken(provider, $"the stream ended before {endEvent}"),
                SseRelayStatus.FrameTooLarge => GatewayError.UpstreamBroken(provider, $"a stream event exceeded {SseRelay.MaxFrameBytes} bytes"),
                _ => GatewayError.UpstreamBroken(provider, exception?.Message ?? "the stream failed"),
            };

    private static partial class Log
    {
        [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Client went away during a stream from {Provider} after {Frames} frames; upstream call cancelled")]
        public static partial void ClientGone(ILogger logger, string provider, int frames);

        [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Stream from {Provider} failed after {Frames} frames: {Reason} (request {RequestId})")]
        public static partial void StreamFailed(ILogger logger, string provider, int frames, string reason, string requestId);
    }
}
