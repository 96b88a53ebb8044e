namespace Gateway.Policies;

/// <summary>What one hook call may use before it is stopped. Defaults fit a policy that inspects and edits one request.</summary>
public sealed record PolicyLimits
{
    /// <summary>Wall time for one hook call; the outer deadline that also ends a loop that never yields.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMilliseconds(100);

    public int MaxStatements { get; init; } = 5_000_000;

    /// <summary>Bytes the engine may allocate during one call.</summary>
    public long MaxMemoryBytes { get; init; } = 32L * 1024 * 1024;

    public int MaxRecursionDepth { get; init; } = 256;

    /// <summary>How deep the JSON a hook is handed (and <c>JSON.parse</c>) may nest: the depth the gateway accepts from clients.</summary>
    public int MaxJsonDepth { get; init; } = Gateway.Core.Json.RequestInspector.MaxDepth;

    /// <summary>Per regular-expression match: a catastrophic pattern stops here.</summary>
    public TimeSpan RegexTimeout { get; init; } = TimeSpan.FromMilliseconds(50);

    public static PolicyLimits Default { get; } = new();
}

/// <summary>What happens to the request when a policy throws or hits a limit.</summary>
public enum PolicyMode
{
    /// <summary>The client gets a 5xx naming the policy.</summary>
    FailClosed,

    /// <summary>The failure is logged and the policy skipped.</summary>
    FailOpen,
}

/// <summary>The functions a policy module may export.</summary>
[Flags]
public enum PolicyHooks
{
    None = 0,
    OnRequest = 1,
    Route = 2,
    OnResponse = 4,
    OnChunk = 8,
}
