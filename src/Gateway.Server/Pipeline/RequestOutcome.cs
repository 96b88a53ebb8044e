namespace Gateway.Server.Pipeline;

/// <summary>How a request ended, as its record says.</summary>
internal enum RequestOutcome
{
    /// <summary>The provider answered and the answer reached the client (any status the provider chose to send).</summary>
    Answered,
    /// <summary>A policy answered in the provider's place.</summary>
    PolicyAnswered,
    /// <summary>A policy refused the request or the answer, or failed closed.</summary>
    PolicyRefused,
    /// <summary>No usable gateway key.</summary>
    Unauthorized,
    /// <summary>The request itself was wrong: malformed, too large, an unknown or forbidden model.</summary>
    Invalid,
    /// <summary>A limit of the gateway turned it away (a full queue, a used-up minute, busy policies).</summary>
    Limited,
    /// <summary>The provider failed: refused, unreachable, an error status after retries, a broken stream.</summary>
    ProviderError,
    /// <summary>The provider did not answer, or not finish, in time.</summary>
    Timeout,
    /// <summary>The client went away before the answer was complete.</summary>
    ClientGone,
    /// <summary>The gateway itself failed (a bug, logged).</summary>
    GatewayError,
}
