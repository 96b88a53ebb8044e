namespace Gateway.Core.Errors;

/// <summary>Who failed: decides the status family and what the operator should look at.</summary>
public enum ErrorSource
{
    /// <summary>The client sent something we refuse (4xx).</summary>
    Client,
    /// <summary>The provider answered with an error or broke the connection.</summary>
    Upstream,
    /// <summary>A deadline passed (connect, first byte, total).</summary>
    Timeout,
    /// <summary>A policy rejected or failed.</summary>
    Policy,
    /// <summary>A bug or a missing piece of configuration in the gateway itself.</summary>
    Gateway,
}

/// <summary>
/// What kind of refusal a provider's error is, as its own adapter recognised it from the
/// provider's codes and wording, so routing can fall back without knowing any provider's words.
/// </summary>
public enum UpstreamFailureKind
{
    Other,

    /// <summary>The prompt (plus the output asked for) does not fit the model's context window.</summary>
    ContextLength,

    /// <summary>The provider's content filter refused the request.</summary>
    ContentFilter,
}
