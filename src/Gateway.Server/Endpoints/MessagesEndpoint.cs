using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Gateway.Core;
using Gateway.Core.Config;
using Gateway.Core.Errors;
using Gateway.Core.Json;
using Gateway.Core.Providers;
using Gateway.Core.Routing;
using Gateway.Core.Sse;
using Gateway.Providers.Anthropic;
using Gateway.Providers.Http;
using Gateway.Policies;
using Gateway.Server.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Endpoints;

/// <summary>
/// <c>POST /v1/messages</c>: Anthropic's Messages API inbound, answered by any OpenAI-format provider.
/// The request is translated once; a streamed answer is translated frame by frame as it arrives.
/// Errors use Anthropic's shape, so the Anthropic SDKs raise their own typed errors.
/// </summary>
internal sealed partial class MessagesEndpoint(SnapshotHolder snapshots, PolicyRegistry policies, RetryBudget retries, ILogger<MessagesEndpoint> logger)
{
    private const ErrorDialect Dialect = ErrorDialect.Anthropic;

    public async Task HandleAsync(HttpContext context)
    {
        long started = Stopwatch.GetTimestamp();
        if (context.Request.Headers["anthropic-version"] is { Count: 1 } version && string.CompareOrdinal(version[0], "2023-06-01") < 0)
        {
            await ErrorResponses.WriteAsync(context, GatewayError.BadRequest(
                $"anthropic-version: '{version[0]}' is not supported; use 2023-06-01 or later.", "invalid_version"), started, dialect: Dialect).ConfigureAwait(false);
            return;
        }

        // Headers passed on to the provider are checked here, not left to fail at send time.
        foreach (var name in PassedHeaders)
        {
            if (context.Request.Headers[name] is { Count: > 0 } passed && HeaderValues.Problem(passed.ToString()) is { } problem)
            {
                await ErrorResponses.WriteAsync(context, GatewayError.BadRequest($"The {name} header {problem}.", "invalid_header"), started, dialect: Dialect).ConfigureAwait(false);
                return;
            }
        }

        // Policies see the canonical (OpenAI) shape, so they run below, after translation.
        var (body, shape, route, error, key, _, _) = await RequestIntake.ReadAsync(context, snapshots.Current, RequestKind.ChatCompletions).ConfigureAwait(false);
        if (body is null)
        {
            await ErrorResponses.WriteAsync(context, error!, started, dialect: Dialect).ConfigureAwait(false);
            return;
        }

        // A route picked here but never sent (a policy answered or refused, or the request was routed
        // again) gives up any breaker probe it claimed, so the next request can probe at once.
        ModelRoute? unsent = route;
        using (body)
        {
            try
            {
                var provider = route.Provider;
                string clientModel = RequestIntake.ClientModel(body, shape);
                var snapshot = snapshots.Current;
                var policySet = policies.Current;
                var chain = policySet.IsEmpty ? PolicyChain.Empty : policySet.Select(clientModel, key!.Id);
                var policyContext = chain.IsEmpty ? null : RequestPolicies.Context(clientModel, key!, chain, context.Request, snapshot);
                // With a policy bound the request goes through the canonical form even to Anthropic, so no
                // policy is bypassed; a group mixing Anthropic with other providers is translated too, so
                // a retry can go to any of them.
                if (provider is IMessagesProvider && chain.IsEmpty && (route.Group is null || route.Group.Deployments.All(d => d.Target.Provider is IMessagesProvider)))
                {
                    unsent = null;
                    await PassThroughAsync(context, body, shape, route, AttemptPlan.PriorityOf(key, context.Request), started).ConfigureAwait(false);
                    return;
                }

                // The canonical request names the model as the client did (as on /v1/chat/completions);
                // it is routed after the policies, which may change it, and each attempt splices in its
                // deployment's model id.
                var dropped = new List<string>();
                using var upstreamBody = new PooledBufferWriter(body.Length + 512);
                // max_tokens here; an attempt on OpenAI itself renames it (see Translated), so a retry on
                // another kind of provider gets the name that one knows.
                error = AnthropicRequestTranslator.Translate(body.Memory, clientModel, maxCompletionTokens: false, upstreamBody, dropped);
                if (error is not null)
                {
                    await ErrorResponses.WriteAsync(context, error, started, dialect: Dialect).ConfigureAwait(false);
                    return;
                }
                if (dropped.Count > 0) Log.DroppedFields(logger, provider.Name, string.Join(", ", dropped));

                var requestJson = upstreamBody.WrittenMemory;
                PooledBody? changed = null;
                string? changedBy = null;
                if (!chain.IsEmpty)
                {
                    var policy = await RequestPolicies.RunAsync(chain, requestJson, policyContext!, logger).ConfigureAwait(false);
                    if (policy.Answer is { } answer)
                    {
                        using (answer) await AnswerFromPolicyAsync(context, answer, clientModel, shape.Stream, started).ConfigureAwait(false);
                        return;
                    }
                    if (policy.Error is { } rejected)
                    {
                        await ErrorResponses.WriteAsync(context, rejected, started, dialect: Dialect).ConfigureAwait(false);
                        return;
                    }
                    changed = policy.NewBody;
                    changedBy = policy.Policy;
                }
                using var changedBody = changed;
                var json = changed?.Memory ?? requestJson;
                ModelRoute finalRoute = route;
                error = RequestInspector.Inspect(json.Span, RequestKind.ChatCompletions, out var finalShape) is { } invalid
                    ? changedBy is null ? invalid : RequestPolicies.Failed(changedBy, $"it returned a request the gateway cannot send ({invalid.Message})")
                    // Routed again only when the model bytes changed (a policy, or escaping): a second pick
                    // would advance round-robin twice and could claim a breaker probe it never uses.
                    : finalShape.RawModel(json.Span).SequenceEqual(shape.RawModel(body.Span)) ? null
                    : ModelRouter.Resolve(snapshot, json.Span, finalShape, key!, out finalRoute);
                if (error is not null)
                {
                    await ErrorResponses.WriteAsync(context, error, started, dialect: Dialect).ConfigureAwait(false);
                    return;
                }

                // The same route goes on to be sent; a route picked again leaves the first one unsent.
                if (finalRoute.Group == route.Group && finalRoute.Deployment == route.Deployment && finalRoute.Provider == route.Provider) unsent = null;
                var plan = new AttemptPlan(finalRoute) { Priority = AttemptPlan.PriorityOf(key, context.Request) };
                retries.Deposit();
                using var sent = await UpstreamAttempts.SendAsync(context, plan, new Translated(json, finalShape), RequestRewriter.MaxOutputLength(json.Length, 1024),
                    ProviderOperation.ChatCompletions, shape.Stream, snapshot, retries, logger).ConfigureAwait(false);
                plan.WriteHeaders(context.Response);
                provider = sent.Provider;
                var deadline = sent.Deadline;
                long upstreamTicks = sent.UpstreamTicks, upstreamStarted = sent.UpstreamStarted;
                if (sent.Result.Response is not { } response)
                {
                    if (sent.Result.Error is { } upstreamError)
                        await ErrorResponses.WriteAsync(context, upstreamError, started, upstreamTicks, Dialect).ConfigureAwait(false);
                    else
                        await ProxyEndpoint.AnswerCanceledAsync(context, deadline, provider.Name, started, upstreamTicks, Dialect).ConfigureAwait(false);
                    return;
                }
                using (response)
                {
                    if (shape.Stream && response.IsEventStream)
                    {
                        await TranslateStreamAsync(context, response, sent, clientModel,
                            policyContext is null ? null : new RequestIntake.BoundPolicies(chain, policyContext), started).ConfigureAwait(false);
                        return;
                    }
                    var (answer, readError) = await UpstreamAnswer.ReadAllAsync(sent, response).ConfigureAwait(false);
                    upstreamTicks = Stopwatch.GetTimestamp() - upstreamStarted;
                    if (answer is null)
                    {
                        if (readError is not null) await ErrorResponses.WriteAsync(context, readError, started, upstreamTicks, Dialect).ConfigureAwait(false);
                        return;
                    }
                    using (answer)
                    {
                        var answerJson = answer.Memory;
                        PooledBody? answerChanged = null;
                        if (policyContext is not null)
                        {
                            var policy = await RequestPolicies.RunOnResponseAsync(chain, answerJson, policyContext, logger).ConfigureAwait(false);
                            if (policy.Error is { } refused)
                            {
                                await ErrorResponses.WriteAsync(context, refused, started, upstreamTicks, Dialect).ConfigureAwait(false);
                                return;
                            }
                            answerChanged = policy.NewBody;
                            if (answerChanged is not null) answerJson = answerChanged.Memory;
                        }
                        using var answerChangedBody = answerChanged;
                        using var translated = new PooledBufferWriter(answer.Length + 256);
                        error = AnthropicResponseTranslator.Translate(answerJson, clientModel, translated);
                        if (error is not null)
                        {
                            await ErrorResponses.WriteAsync(context, error, started, upstreamTicks, Dialect).ConfigureAwait(false);
                            return;
                        }
                        await UpstreamAnswer.WriteAsync(context, 200, "application/json", translated.WrittenMemory, response.RequestId, started, upstreamTicks).ConfigureAwait(false);
                    }
                }
            }
            finally
            {
                unsent?.NotSent();
            }
        }
    }

    /// <summary>A policy answered in the provider's place: its completion as an Anthropic message, or that message's event stream.</summary>
    private static async Task AnswerFromPolicyAsync(HttpContext context, PooledBody answer, string clientModel, bool stream, long started)
    {
        var completion = PolicyAnswer.Read(answer.Span, clientModel, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        if (completion is null)
        {
            await ErrorResponses.WriteAsync(context, RequestPolicies.Failed("respond", "a policy responded with something that is not a chat completion (it needs choices[].message)"),
                started, dialect: Dialect).ConfigureAwait(false);
            return;
        }
        using var openAi = new PooledBufferWriter(1024);
        using var translated = new PooledBufferWriter(1024);
        if (stream)
        {
            PolicyAnswer.WriteChunks(completion, includeUsage: true, openAi);
            var translator = new AnthropicStreamTranslator(clientModel);
            // The frames were written just above, each ending in a blank line.
            for (var rest = openAi.WrittenMemory; rest.Length > 0;)
            {
                int end = rest.Span.IndexOf("\n\n"u8);
                int length = end < 0 ? rest.Length : end + 2;
                translator.OnFrame(rest.Span[..length], translated);
                rest = rest[length..];
            }
            UpstreamAnswer.PrepareEventStream(context.Response, "text/event-stream; charset=utf-8", null, started, 0);
            context.Response.BodyWriter.Write(translated.WrittenMemory.Span);
            await SseErrors.FlushAsync(context.Response.BodyWriter, context.RequestAborted).ConfigureAwait(false);
            return;
        }
        PolicyAnswer.WriteJson(completion, openAi);
        AnthropicResponseTranslator.Translate(openAi.WrittenMemory, clientModel, translated);
        await UpstreamAnswer.WriteAsync(context, 200, "application/json", translated.WrittenMemory, null, started, 0).ConfigureAwait(false);
    }

    private Task TranslateStreamAsync(HttpContext context, UpstreamResponse upstream, SentCall sent, string clientModel,
        RequestIntake.BoundPolicies? bound, long started) =>
        StreamEventsAsync(context, upstream, sent, new TranslatedEvents(new AnthropicStreamTranslator(clientModel)), started,
            PolicyStreams.Wrap(upstream.Body, bound, logger));

    /// <summary>Relays an event stream to the client through <paramref name="events"/>, flushing after each upstream read.</summary>
    /// <param name="body">What to read instead of the upstream's body (it restores PII placeholders), when set.</param>
    private async Task StreamEventsAsync(HttpContext context, UpstreamResponse upstream, SentCall sent, IEventSink events, long started, Stream? body = null)
    {
        var (deadline, provider, upstreamTicks) = (sent.Deadline, sent.Provider.Name, sent.UpstreamTicks);
        var http = context.Response;
        UpstreamAnswer.PrepareEventStream(http, "text/event-stream; charset=utf-8", upstream.RequestId, started, upstreamTicks);

        using var reader = new SseFrameReader(body ?? upstream.Body);
        SseRelayStatus status;
        Exception? failure = null;
        bool anyWritten = false; // events can sit unflushed in the body writer before the response has started
        while (true)
        {
            SseReadResult read;
            try
            {
                read = await reader.ReadAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (SseErrors.IsUpstreamFailure(ex))
            {
                status = SseRelayStatus.UpstreamFailed;
                failure = ex;
                break;
            }
            if (read == SseReadResult.FrameTooLarge) { status = SseRelayStatus.FrameTooLarge; break; }
            if (read == SseReadResult.End)
            {
                status = events.Completed ? SseRelayStatus.Completed : SseRelayStatus.UpstreamEndedEarly;
                break;
            }
            deadline.DataReceived();
            bool wrote = false;
            try
            {
                WriteFrames(reader, events, http, ref wrote);
            }
            catch (JsonException ex)
            {
                status = SseRelayStatus.UpstreamFailed;
                failure = new IOException($"the provider sent a malformed stream event: {ex.Message}", ex);
                anyWritten |= wrote;
                break;
            }
            anyWritten |= wrote;
            if (wrote && !await SseErrors.FlushAsync(http.BodyWriter, context.RequestAborted).ConfigureAwait(false))
            {
                status = SseRelayStatus.ClientGone;
                break;
            }
        }

        if (status == SseRelayStatus.Completed) return;
        if (status == SseRelayStatus.ClientGone || deadline.ClientGone) return;
        var error = ProxyEndpoint.StreamError(deadline, status, failure, provider);
        Log.StreamFailed(logger, provider, error.Message);
        sent.Failed();
        if (!http.HasStarted && !anyWritten)
        {
            await ErrorResponses.WriteAsync(context, error, started, upstreamTicks, Dialect).ConfigureAwait(false);
            return;
        }
        AnthropicErrors.WriteSseEvent(http.BodyWriter, error);
        await SseErrors.FlushAsync(http.BodyWriter, context.RequestAborted).ConfigureAwait(false);
    }

    /// <param name="wrote">Set as soon as one event is written, so it is known even when a later frame throws.</param>
    private static void WriteFrames(SseFrameReader reader, IEventSink events, HttpResponse http, ref bool wrote)
    {
        while (reader.TryReadFrame(out var frame)) wrote |= events.OnFrame(frame, http.BodyWriter);
    }

    /// <summary>
    /// Same dialect on both sides: only the model is rewritten on the way in, and the answer's bytes
    /// (JSON or events) go back untouched. The API's own headers from the client are passed on.
    /// </summary>
    private async Task PassThroughAsync(HttpContext context, PooledBody body, RequestShape shape, ModelRoute route, RequestPriority priority, long started)
    {
        var headers = new List<KeyValuePair<string, string>>(2);
        foreach (var name in PassedHeaders)
            if (context.Request.Headers[name] is { Count: > 0 } value) headers.Add(KeyValuePair.Create(name, value.ToString()));

        var plan = new AttemptPlan(route) { Priority = priority };
        retries.Deposit();
        using var sent = await UpstreamAttempts.SendAsync(context, plan, new Native(body, shape, headers), RequestRewriter.MaxOutputLength(body.Length, 1024),
            ProviderOperation.ChatCompletions, shape.Stream, snapshots.Current, retries, logger).ConfigureAwait(false);
        plan.WriteHeaders(context.Response);
        var (provider, deadline, upstreamTicks) = (sent.Provider, sent.Deadline, sent.UpstreamTicks);
        if (sent.Result.Response is not { } response)
        {
            if (sent.Result.Error is { } error) await ErrorResponses.WriteAsync(context, error, started, upstreamTicks, Dialect).ConfigureAwait(false);
            else await ProxyEndpoint.AnswerCanceledAsync(context, deadline, provider.Name, started, upstreamTicks, Dialect).ConfigureAwait(false);
            return;
        }
        using (response)
        {
            if (shape.Stream && response.IsEventStream)
            {
                await StreamEventsAsync(context, response, sent, new NativeEvents(), started).ConfigureAwait(false);
                return;
            }
            var (answer, readError) = await UpstreamAnswer.ReadAllAsync(sent, response).ConfigureAwait(false);
            upstreamTicks = Stopwatch.GetTimestamp() - sent.UpstreamStarted;
            if (answer is null)
            {
                if (readError is not null) await ErrorResponses.WriteAsync(context, readError, started, upstreamTicks, Dialect).ConfigureAwait(false);
                return;
            }
            using (answer)
                await UpstreamAnswer.WriteAsync(context, response.Status, response.ContentType, answer.Memory, response.RequestId, started, upstreamTicks).ConfigureAwait(false);
        }
    }

    /// <summary>The client's Anthropic bytes with the deployment's model spliced in, sent as they are.</summary>
    private readonly struct Native(PooledBody body, RequestShape shape, List<KeyValuePair<string, string>> headers) : IAttemptSender
    {
        public ReadOnlyMemory<byte> Write(in ModelRoute route, PooledBufferWriter output)
        {
            var (model, modelJson) = RequestIntake.UpstreamModel(body, shape, route);
            RequestRewriter.Rewrite(body.Span, shape, modelJson.Span, ensureUsage: false, output);
            return model;
        }

        public ValueTask<UpstreamResult> SendAsync(IProvider provider, ProviderCall call, CancellationToken cancellationToken) =>
            ((IMessagesProvider)provider).SendMessagesAsync(call, headers, cancellationToken);
    }

    /// <summary>The canonical (OpenAI) request with the deployment's model spliced in.</summary>
    private readonly struct Translated(ReadOnlyMemory<byte> json, RequestShape shape) : IAttemptSender
    {
        public ReadOnlyMemory<byte> Write(in ModelRoute route, PooledBufferWriter output)
        {
            var (model, modelJson) = RequestIntake.UpstreamModel(json, shape, route);
            if (route.Provider.Config.Type != ProviderTypes.OpenAI)
            {
                RequestRewriter.Rewrite(json.Span, shape, modelJson.Span, ensureUsage: false, output);
                return model;
            }
            // OpenAI's reasoning models refuse max_tokens and want max_completion_tokens; most
            // compatible servers know only max_tokens.
            using var spliced = new PooledBufferWriter(json.Length + modelJson.Length);
            RequestRewriter.Rewrite(json.Span, shape, modelJson.Span, ensureUsage: false, spliced);
            if (!RequestRewriter.RenameTopLevel(spliced.WrittenMemory.Span, "max_tokens"u8, "max_completion_tokens"u8, output)) output.Write(spliced.WrittenMemory.Span);
            return model;
        }

        public ValueTask<UpstreamResult> SendAsync(IProvider provider, ProviderCall call, CancellationToken cancellationToken) => provider.SendAsync(call, cancellationToken);
    }

    private static readonly string[] PassedHeaders = ["anthropic-version", "anthropic-beta"];

    /// <summary>What a stream relay does with each upstream event.</summary>
    private interface IEventSink
    {
        bool OnFrame(ReadOnlySpan<byte> frame, IBufferWriter<byte> output);
        /// <summary>The stream reached its proper end (or the provider's own error event went to the client).</summary>
        bool Completed { get; }
    }

    private sealed class TranslatedEvents(AnthropicStreamTranslator translator) : IEventSink
    {
        public bool OnFrame(ReadOnlySpan<byte> frame, IBufferWriter<byte> output) => translator.OnFrame(frame, output);
        public bool Completed => translator.Completed;
    }

    /// <summary>Anthropic events forwarded byte for byte; <c>message_stop</c> (or the provider's own <c>error</c> event) ends the stream properly.</summary>
    private sealed class NativeEvents : IEventSink
    {
        public bool Completed { get; private set; }

        public bool OnFrame(ReadOnlySpan<byte> frame, IBufferWriter<byte> output)
        {
            if (frame.StartsWith("event: message_stop"u8) || frame.IndexOf("\"type\":\"message_stop\""u8) >= 0 || frame.StartsWith("event: error"u8)) Completed = true;
            output.Write(frame);
            return true;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "/v1/messages to {Provider}: fields without an OpenAI equivalent were dropped: {Fields}")]
        public static partial void DroppedFields(ILogger logger, string provider, string fields);

        [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "/v1/messages stream from {Provider} failed: {Reason}")]
        public static partial void StreamFailed(ILogger logger, string provider, string reason);
    }
}
