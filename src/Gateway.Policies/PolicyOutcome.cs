namespace Gateway.Policies;

public enum PolicyOutcomeKind
{
    /// <summary>The hook returned nothing (or the object unchanged is not detectable): go on with the original.</summary>
    Unchanged,

    /// <summary>The hook returned an object: its JSON was written to the output.</summary>
    Changed,

    /// <summary><c>{ reject: { status, message } }</c>: answer the client with that error.</summary>
    Reject,

    /// <summary><c>{ respond: {...} }</c>: answer the client with that object; the provider is not called.</summary>
    Respond,

    /// <summary>The hook threw, hit a limit or returned something unusable; the policy's mode decides.</summary>
    Failed,

    /// <summary>
    /// What the hook was to be handed could not be presented to it (nested too deep, too large for its
    /// memory). Never skipped, whatever the mode: a policy that cannot see a request must not let it
    /// through unpoliced. The request's fault (400) for a request; the provider's (502) for an answer.
    /// </summary>
    Unreadable,

    /// <summary>Every policy worker stayed busy past the queue limit: the gateway is overloaded (503), whatever the mode.</summary>
    Busy,
}

/// <summary>The result of one hook call. For Changed and Respond, the JSON is in the caller's output.</summary>
/// <param name="Hold">From <c>onChunk</c>: how many characters at the end of the chunk's content to hold back until the next chunk.</param>
public readonly record struct PolicyOutcome(PolicyOutcomeKind Kind, int Status = 0, string? Message = null, bool LimitHit = false, int Hold = 0)
{
    public static PolicyOutcome Unchanged => new(PolicyOutcomeKind.Unchanged);
    public static PolicyOutcome Changed => new(PolicyOutcomeKind.Changed);
    public static PolicyOutcome Respond => new(PolicyOutcomeKind.Respond);

    public static PolicyOutcome Reject(int status, string message) => new(PolicyOutcomeKind.Reject, status, message);

    public static PolicyOutcome Failed(string reason, bool limitHit) => new(PolicyOutcomeKind.Failed, 0, reason, limitHit);

    public static PolicyOutcome Unreadable(string reason) => new(PolicyOutcomeKind.Unreadable, 0, reason);

    public static PolicyOutcome Busy(string reason) => new(PolicyOutcomeKind.Busy, 503, reason);
}
