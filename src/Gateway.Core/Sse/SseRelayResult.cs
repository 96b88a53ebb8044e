using Gateway.Core.Errors;

namespace Gateway.Core.Sse;

/// <param name="FirstFrameTimestamp">When the first frame was written for the client (a <see cref="System.Diagnostics.Stopwatch"/> timestamp); 0 when none was.</param>
public readonly record struct SseRelayResult(SseRelayStatus Status, TokenUsage? Usage, int FramesForwarded, Exception? Error, long FirstFrameTimestamp = 0)
{
    /// <summary>The error a stage of the stream reported (a provider's error event, a malformed event, a policy's refusal).</summary>
    public GatewayError? Failure { get; init; }
}
