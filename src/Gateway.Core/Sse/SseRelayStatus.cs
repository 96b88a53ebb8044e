namespace Gateway.Core.Sse;

public enum SseRelayStatus
{
    /// <summary>The upstream sent <c>[DONE]</c> and closed.</summary>
    Completed,
    /// <summary>The upstream closed without <c>[DONE]</c>: a truncated stream.</summary>
    UpstreamEndedEarly,
    /// <summary>Reading from the upstream failed (reset, protocol error) or was cancelled.</summary>
    UpstreamFailed,
    /// <summary>Writing to the client failed: it went away.</summary>
    ClientGone,
    /// <summary>A single frame grew past the relay's limit.</summary>
    FrameTooLarge,
}
