using Gateway.Core.Auth;
using Gateway.Core.Errors;
using Gateway.Policies;
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

    public static Result Run(PolicyChain chain, ReadOnlyMemory<byte> json, string model, GatewayKey key, ILogger logger)
    {
        var result = chain.OnRequest(json, new PolicyContext(model, key.Id), size => new PooledBody(size), (policy, reason) => Log.FailedOpen(logger, policy, reason));
        var outcome = result.Outcome;
        switch (outcome.Kind)
        {
            case PolicyOutcomeKind.Unchanged:
                return default;
            case PolicyOutcomeKind.Changed:
                return new Result(result.Buffer, null, null, result.Policy);
            case PolicyOutcomeKind.Respond:
                return new Result(null, result.Buffer, null);
            case PolicyOutcomeKind.Reject:
                return new Result(null, null, new GatewayError(outcome.Status, outcome.Status == 429 ? "rate_limit_error" : "invalid_request_error",
                    "policy_rejected", outcome.Message!, ErrorSource.Client));
            default:
                Log.FailedClosed(logger, result.Policy!, outcome.Message ?? "failed");
                return new Result(null, null, Failed(result.Policy!, outcome.Message ?? "failed"));
        }
    }

    /// <summary>A fail-closed policy that could not decide: the request is not sent, and the client is told which policy.</summary>
    public static GatewayError Failed(string policy, string reason) =>
        new(500, "server_error", "policy_failed", $"Policy '{policy}' failed, so the request was not sent: {reason}", ErrorSource.Gateway);

    private static partial class Log
    {
        [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "Policy {Policy} (fail-open) failed and was skipped: {Reason}")]
        public static partial void FailedOpen(ILogger logger, string policy, string reason);

        [LoggerMessage(EventId = 4102, Level = LogLevel.Error, Message = "Policy {Policy} (fail-closed) failed; the request was refused: {Reason}")]
        public static partial void FailedClosed(ILogger logger, string policy, string reason);
    }
}
