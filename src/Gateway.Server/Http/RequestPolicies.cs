using Gateway.Core;
using Gateway.Core.Auth;
using Gateway.Core.Errors;
using Gateway.Core.Json;
using Gateway.Core.Threading;
using Gateway.Policies;
using Gateway.Server.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Http;

/// <summary>
/// Runs the <c>onRequest</c> hooks bound to a request on its canonical (OpenAI) JSON, and turns what
/// they decide into what the endpoint does: go on with the same or a new body, answer with the
/// policy's response, or answer with an error.
/// </summary>
internal static partial class RequestPolicies
{
    public readonly record struct Result(PooledBody? NewBody, PooledBody? Answer, GatewayError? Error, string? Policy = null);

    /// <summary>What the hooks of this request see in <c>ctx</c>: the headers some bound policy may read, and where the model can go.</summary>
    public static PolicyContext Context(string model, GatewayKey key, PolicyChain chain, HttpRequest request, GatewaySnapshot snapshot,
        RequestKind kind = RequestKind.ChatCompletions)
    {
        Dictionary<string, string>? headers = null;
        foreach (var name in chain.AllowedHeaders())
            if (request.Headers.TryGetValue(name, out var value) && value.Count > 0) (headers ??= new(StringComparer.Ordinal))[name] = value.ToString();
        return new PolicyContext(model, key.Id)
        {
            Operation = kind == RequestKind.Embeddings ? PolicyOperation.Embeddings : PolicyOperation.Chat,
            Headers = headers ?? (IReadOnlyDictionary<string, string>)System.Collections.Frozen.FrozenDictionary<string, string>.Empty,
            FindCandidates = () => Candidates(model, snapshot),
        };
    }

    private static List<PolicyCandidate> Candidates(string model, GatewaySnapshot snapshot)
    {
        if (snapshot.Groups.TryGetValue(model, out var group))
            return [.. group.Deployments.Select(d => new PolicyCandidate(d.Config.Provider, d.Config.Model, d.Config.Weight, d.Config.InputPrice, d.Config.OutputPrice,
                Math.Round(d.State.Latency.TotalMilliseconds, 1), d.State.IsOpen) { Tags = d.Config.Tags })];
        int slash = model.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 && snapshot.Providers.ContainsKey(model[..slash]) ? [new PolicyCandidate(model[..slash], model[(slash + 1)..], 1)] : [];
    }

    /// <summary>The <c>onRequest</c> hooks, then the <c>route</c> hooks on what they made of the request.</summary>
    public static async ValueTask<Result> RunAsync(PolicyChain chain, ReadOnlyMemory<byte> json, PolicyContext context, ILogger logger)
    {
        var result = Interpret(await chain.OnRequestAsync(json, context, Rent, (policy, reason) => Log.FailedOpen(logger, policy, reason)).ConfigureAwait(false),
            logger, Subject.Request);
        if (result.Error is not null || result.Answer is not null || !chain.Has(PolicyHooks.Route)) return result;
        var routed = Interpret(await chain.RouteAsync(result.NewBody?.Memory ?? json, context, Rent, (policy, reason) => Log.FailedOpen(logger, policy, reason)).ConfigureAwait(false),
            logger, Subject.Request);
        if (routed.NewBody is null && routed.Error is null) return result;
        result.NewBody?.Dispose();
        return routed;
    }

    private static readonly Func<int, PooledBody> Rent = size => new PooledBody(size);

    /// <summary>Whose bytes a hook was handed: a request that cannot be shown to a policy is the client's fault, an answer the provider's.</summary>
    public enum Subject { Request, Answer }

    /// <summary>
    /// The <c>onResponse</c> hooks on a whole answer, then the request's PII placeholders put back
    /// (their values are plain ASCII without JSON escapes, so the bytes stay valid JSON).
    /// </summary>
    /// <param name="beforeRestore">Shown the answer after the hooks, before placeholders are put back (what the request log may keep).</param>
    public static async ValueTask<Result> RunOnResponseAsync(PolicyChain chain, ReadOnlyMemory<byte> json, PolicyContext context, ILogger logger,
        GatewayRequest? beforeRestore = null)
    {
        var result = chain.Has(PolicyHooks.OnResponse)
            ? Interpret(await chain.OnResponseAsync(json, context, Rent, (policy, reason) => Log.FailedOpen(logger, policy, reason)).ConfigureAwait(false),
                logger, Subject.Answer)
            : default;
        if (result.Error is not null) return result;
        beforeRestore?.KeepBody((result.NewBody?.Memory ?? json).Span, answer: true);
        if (!context.HasPlaceholders) return result;
        // Restoring rewrites the whole answer: off the socket's I/O thread first (after answer hooks the
        // worker's continuation is on the pool already, and this costs nothing).
        await IoThread.Leave();
        string text = System.Text.Encoding.UTF8.GetString((result.NewBody?.Memory ?? json).Span);
        string restored = context.Vault.Restore(text);
        if (ReferenceEquals(text, restored)) return result;
        result.NewBody?.Dispose();
        var body = new PooledBody(restored.Length + 16);
        System.Text.Unicode.Utf8.FromUtf16(restored, body.GetFree(System.Text.Encoding.UTF8.GetMaxByteCount(restored.Length)).Span, out _, out int written);
        body.Advance(written);
        return new Result(body, null, null, result.Policy);
    }

    private static Result Interpret(ChainResult<PooledBody> result, ILogger logger, Subject subject)
    {
        var outcome = result.Outcome;
        switch (outcome.Kind)
        {
            case PolicyOutcomeKind.Unreadable:
            case PolicyOutcomeKind.Busy:
                return new Result(null, null, Refused(outcome, subject), result.Policy);
            case PolicyOutcomeKind.Unchanged:
                return default;
            case PolicyOutcomeKind.Changed:
                return new Result(result.Buffer, null, null, result.Policy);
            case PolicyOutcomeKind.Respond:
                return new Result(null, result.Buffer, null);
            case PolicyOutcomeKind.Reject:
                string type = outcome.Status switch
                {
                    403 => "permission_error",
                    429 => "rate_limit_error",
                    >= 500 => "server_error",
                    _ => "invalid_request_error",
                };
                return new Result(null, null, new GatewayError(outcome.Status, type, "policy_rejected", outcome.Message!,
                    outcome.Status >= 500 ? ErrorSource.Gateway : ErrorSource.Client), result.Policy);
            default:
                Log.FailedClosed(logger, result.Policy!, outcome.Message ?? "failed");
                return new Result(null, null, Failed(result.Policy!, outcome.Message ?? "failed"));
        }
    }

    /// <summary>
    /// What is never skipped, whatever the policy's mode: a request or answer a policy could not be
    /// shown (a request's fault: 400; a provider's: 502), or policies too busy to run at all (503).
    /// </summary>
    public static GatewayError Refused(in PolicyOutcome outcome, Subject subject) => outcome.Kind switch
    {
        PolicyOutcomeKind.Busy => new GatewayError(503, "server_error", "policies_busy", outcome.Message ?? "The gateway's policy workers are busy; retry shortly.",
            ErrorSource.Gateway) { Headers = [new("retry-after", "1")] },
        _ when subject == Subject.Request => GatewayError.BadRequest(
            $"The request could not be checked by the gateway's policies, so it was not sent: {outcome.Message}", "request_not_inspectable"),
        _ => new GatewayError(502, "upstream_error", "answer_not_inspectable",
            $"The provider's answer could not be checked by the gateway's policies, so it was withheld: {outcome.Message}", ErrorSource.Upstream),
    };

    /// <summary>A fail-closed policy that could not decide: the request is not sent, and the client is told which policy.</summary>
    public static GatewayError Failed(string policy, string reason) =>
        new(500, "server_error", "policy_failed", $"Policy '{policy}' failed, so the request was not sent: {reason}", ErrorSource.Gateway);

    public static void LogFailedOpen(ILogger logger, string policy, string reason) => Log.FailedOpen(logger, policy, reason);

    private static partial class Log
    {
        [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "Policy {Policy} (fail-open) failed and was skipped: {Reason}")]
        public static partial void FailedOpen(ILogger logger, string policy, string reason);

        [LoggerMessage(EventId = 4102, Level = LogLevel.Error, Message = "Policy {Policy} (fail-closed) failed; the request was refused: {Reason}")]
        public static partial void FailedClosed(ILogger logger, string policy, string reason);
    }
}
