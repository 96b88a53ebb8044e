using System.Diagnostics;
using Gateway.Core;
using Gateway.Core.Errors;
using Gateway.Core.Json;
using Gateway.Core.Providers;
using Gateway.Core.Routing;
using Gateway.Core.Sse;
using Gateway.Policies;
using Gateway.Providers.Http;
using Gateway.Server.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Endpoints;

/// <summary>
/// <c>POST /v1/chat/completions</c> and <c>POST /v1/embeddings</c>: authenticate, read the body
/// (bounded), validate it in one pass, route by model, splice the model into the bytes, send, and
/// relay the answer: SSE frame by frame, anything else copied from pooled memory.
/// </summary>
internal sealed partial class ProxyEndpoint(SnapshotHolder snapshots, PolicyRegistry policies, RetryBudget retries, ILogger<ProxyEndpoint> logger)
{
    public Task ChatCompletionsAsync(HttpContext context) => HandleAsync(context, RequestKind.ChatCompletions);

    public Task EmbeddingsAsync(HttpContext context) => HandleAsync(context, RequestKind.Embeddings);

    private async Task HandleAsync(HttpContext context, RequestKind kind)
    {
        long started = Stopwatch.GetTimestamp();
        var intake = await RequestIntake.ReadAsync(context, snapshots.Current, kind, policies.Current, logger).ConfigureAwait(false);
        if (intake.Answer is { } answer)
        {
            using (intake.Body)
            using (answer)
                await AnswerFromPolicyAsync(context, answer, RequestIntake.ClientModel(intake.Body!, intake.Shape), intake.Shape, kind, started).ConfigureAwait(false);
            return;
        }
        var (body, shape, route, error, key, _, bound) = intake;
        if (body is null)
        {
            await ErrorResponses.WriteAsync(context, error!, started).ConfigureAwait(false);
            return;
        }

        using (body)
        {
            bool stream = shape.Stream && kind == RequestKind.ChatCompletions;
            var operation = kind == RequestKind.Embeddings ? ProviderOperation.Embeddings : ProviderOperation.ChatCompletions;
            var plan = new AttemptPlan(route) { Priority = AttemptPlan.PriorityOf(key, context.Request) };
            retries.Deposit();
            while (true)
            {
                using var sent = await UpstreamAttempts.SendAsync(context, plan, new Passthrough(body, shape, stream), RequestRewriter.MaxOutputLength(body.Length, 1024),
                    operation, stream, snapshots.Current, retries, logger).ConfigureAwait(false);
                plan.WriteHeaders(context.Response);
                var (provider, deadline, upstreamTicks) = (sent.Provider, sent.Deadline, sent.UpstreamTicks);
                if (sent.Result.Response is not { } response)
                {
                    if (sent.Result.Error is { } upstreamError)
                        await ErrorResponses.WriteAsync(context, upstreamError, started, upstreamTicks).ConfigureAwait(false);
                    else
                        await AnswerCanceledAsync(context, deadline, provider.Name, started, upstreamTicks).ConfigureAwait(false);
                    return;
                }
                using (response)
                {
                    if (stream && response.IsEventStream)
                    {
                        // No first token in time and nothing sent to the client yet: the next deployment may still answer.
                        if (await RelayStreamAsync(context, response, sent, !shape.ClientWantsUsage, bound, started, mayRetry: true).ConfigureAwait(false)
                            is not { } firstTokenTimeout)
                            return;
                        sent.Failed();
                        if (await plan.NextAsync(snapshots.Current, firstTokenTimeout, retries, context.RequestAborted).ConfigureAwait(false))
                            continue;
                        plan.WriteHeaders(context.Response);
                        await ErrorResponses.WriteAsync(context, firstTokenTimeout, started, upstreamTicks).ConfigureAwait(false);
                        return;
                    }
                    await CopyAnswerAsync(context, response, sent, bound, started).ConfigureAwait(false);
                    return;
                }
            }
        }
    }

    /// <summary>The client's own bytes with the deployment's model spliced in: the zero-copy path's request.</summary>
    private readonly struct Passthrough(PooledBody body, RequestShape shape, bool stream) : IAttemptSender
    {
        public ReadOnlyMemory<byte> Write(in ModelRoute route, PooledBufferWriter output)
        {
            var (model, modelJson) = RequestIntake.UpstreamModel(body, shape, route);
            RequestRewriter.Rewrite(body.Span, shape, modelJson.Span, ensureUsage: stream, output);
            return model;
        }

        public ValueTask<UpstreamResult> SendAsync(IProvider provider, ProviderCall call, CancellationToken cancellationToken) => provider.SendAsync(call, cancellationToken);
    }

    /// <summary>A policy answered in the provider's place: its completion as JSON, or as a stream when the client asked for one.</summary>
    private static async Task AnswerFromPolicyAsync(HttpContext context, PooledBody answer, string model, RequestShape shape, RequestKind kind, long started)
    {
        // An embeddings answer has no canonical form to complete: the policy's object is the answer.
        if (kind == RequestKind.Embeddings)
        {
            await UpstreamAnswer.WriteAsync(context, 200, "application/json", answer.Memory, null, started, 0).ConfigureAwait(false);
            return;
        }
        var completion = PolicyAnswer.Read(answer.Span, model, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        if (completion is null)
        {
            await ErrorResponses.WriteAsync(context, RequestPolicies.Failed("respond", "a policy responded with something that is not a chat completion (it needs choices[].message)"), started).ConfigureAwait(false);
            return;
        }
        if (shape.Stream)
        {
            UpstreamAnswer.PrepareEventStream(context.Response, "text/event-stream; charset=utf-8", null, started, 0);
            PolicyAnswer.WriteChunks(completion, shape.ClientWantsUsage, context.Response.BodyWriter);
            await SseErrors.FlushAsync(context.Response.BodyWriter, context.RequestAborted).ConfigureAwait(false);
            return;
        }
        using var json = new PooledBufferWriter(1024);
        PolicyAnswer.WriteJson(completion, json);
        await UpstreamAnswer.WriteAsync(context, 200, "application/json", json.WrittenMemory, null, started, 0).ConfigureAwait(false);
    }

    /// <returns>
    /// With <paramref name="mayRetry"/>: the timeout error when no first token came in time and
    /// nothing reached the client (the caller may try another deployment); otherwise null, the
    /// stream having been relayed or its failure answered.
    /// </returns>
    private async Task<GatewayError?> RelayStreamAsync(HttpContext context, UpstreamResponse upstream, SentCall sent, bool stripUsage,
        RequestIntake.BoundPolicies? bound, long started, bool mayRetry = false)
    {
        var (deadline, provider, upstreamTicks) = (sent.Deadline, sent.Provider.Name, sent.UpstreamTicks);
        var response = context.Response;
        UpstreamAnswer.PrepareEventStream(response, upstream.ContentType ?? "text/event-stream", upstream.RequestId, started, upstreamTicks);
        // Frames stay zero-copy unless a policy defines onChunk or handed out PII placeholders to restore.
        using var transformed = PolicyStreams.Wrap(upstream.Body, bound, logger);
        var result = await SseRelay.RelayAsync(transformed ?? upstream.Body, response.BodyWriter, stripUsage, deadline.DataReceived, deadline.Token).ConfigureAwait(false);
        if (result.Status == SseRelayStatus.Completed)
        {
            Log.StreamDone(logger, provider, result.FramesForwarded, result.Usage?.PromptTokens ?? 0, result.Usage?.CompletionTokens ?? 0);
            return null;
        }
        if (result.Status == SseRelayStatus.ClientGone || deadline.ClientGone)
        {
            Log.ClientGone(logger, provider, result.FramesForwarded);
            return null;
        }

        var error = StreamError(deadline, result.Status, result.Error, provider);
        Log.StreamFailed(logger, provider, result.FramesForwarded, error.Message);
        sent.Failed();

        if (!response.HasStarted)
        {
            if (mayRetry && deadline.ExpiredBeforeFirstByte && result.FramesForwarded == 0) return error;
            await ErrorResponses.WriteAsync(context, error, started, upstreamTicks).ConfigureAwait(false);
            return null;
        }
        // Mid-stream: an error event the SDKs raise, and no [DONE], so nobody mistakes this for a full answer.
        try
        {
            OpenAiErrorJson.WriteSseEvent(response.BodyWriter, error);
            await response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidOperationException)
        {
            // the client is gone as well
        }
        return null;
    }

    private async Task CopyAnswerAsync(HttpContext context, UpstreamResponse upstream, SentCall sent, RequestIntake.BoundPolicies? bound, long started)
    {
        var (body, error) = await UpstreamAnswer.ReadAllAsync(sent, upstream).ConfigureAwait(false);
        long upstreamTicks = Stopwatch.GetTimestamp() - sent.UpstreamStarted;
        if (body is null)
        {
            if (error is not null) await ErrorResponses.WriteAsync(context, error, started, upstreamTicks).ConfigureAwait(false);
            return;
        }
        using (body)
        {
            var answer = body.Memory;
            PooledBody? changed = null;
            // Response hooks see answers, not provider errors, which go to the client as they are.
            // Embeddings answers are vectors: policies see the request's input, not the answer.
            if (bound is not null && bound.Context.Operation == PolicyOperation.Chat && upstream.Status is >= 200 and < 300)
            {
                var policy = await RequestPolicies.RunOnResponseAsync(bound.Chain, answer, bound.Context, logger).ConfigureAwait(false);
                if (policy.Error is { } refused)
                {
                    await ErrorResponses.WriteAsync(context, refused, started, upstreamTicks).ConfigureAwait(false);
                    return;
                }
                changed = policy.NewBody;
                if (changed is not null) answer = changed.Memory;
            }
            using (changed)
                await UpstreamAnswer.WriteAsync(context, upstream.Status, upstream.ContentType, answer, upstream.RequestId, started, upstreamTicks).ConfigureAwait(false);
        }
    }

    internal static Task AnswerCanceledAsync(HttpContext context, UpstreamDeadline deadline, string provider, long started, long upstreamTicks, ErrorDialect dialect = ErrorDialect.OpenAI)
    {
        if (deadline.Expired is not { } limit) return Task.CompletedTask; // the client went away: nobody to answer
        var what = deadline.ExpiredBeforeFirstByte ? "send a first byte" : "answer";
        return ErrorResponses.WriteAsync(context, GatewayError.UpstreamTimeout(provider, what, limit), started, upstreamTicks, dialect);
    }

    /// <summary>Why a stream that did not complete failed, as the client should hear it.</summary>
    internal static GatewayError StreamError(UpstreamDeadline deadline, SseRelayStatus status, Exception? exception, string provider) =>
        exception is PolicyStreamException policy ? policy.Error
        : deadline.Expired is { } limit
            ? GatewayError.UpstreamTimeout(provider, deadline.ExpiredLimit switch
            {
                DeadlineLimit.FirstByte => "send a first token",
                DeadlineLimit.Idle => "send the next stream event",
                _ => "finish the stream",
            }, limit)
            : status switch
            {
                SseRelayStatus.UpstreamEndedEarly => GatewayError.UpstreamBroken(provider, "the stream ended before [DONE]"),
                SseRelayStatus.FrameTooLarge => GatewayError.UpstreamBroken(provider, $"a stream event exceeded {SseRelay.MaxFrameBytes} bytes"),
                _ => GatewayError.UpstreamBroken(provider, exception?.Message ?? "the stream failed"),
            };

    private static partial class Log
    {
        [LoggerMessage(EventId = 1001, Level = LogLevel.Debug, Message = "Stream from {Provider} done: {Frames} frames, usage {PromptTokens}+{CompletionTokens} tokens")]
        public static partial void StreamDone(ILogger logger, string provider, int frames, int promptTokens, int completionTokens);

        [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Client went away during a stream from {Provider} after {Frames} frames; upstream call cancelled")]
        public static partial void ClientGone(ILogger logger, string provider, int frames);

        [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Stream from {Provider} failed after {Frames} frames: {Reason}")]
        public static partial void StreamFailed(ILogger logger, string provider, int frames, string reason);
    }
}
