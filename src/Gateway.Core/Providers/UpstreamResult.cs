using Gateway.Core.Errors;

namespace Gateway.Core.Providers;

/// <summary>What a provider call gave: an answer, an error value, or nothing because it was cancelled.</summary>
public readonly struct UpstreamResult
{
    private UpstreamResult(UpstreamResponse? response, GatewayError? error, bool canceled)
    {
        Response = response;
        Error = error;
        Canceled = canceled;
    }

    public UpstreamResponse? Response { get; }
    public GatewayError? Error { get; }
    /// <summary>The call's token fired (client gone or a deadline): the caller knows which.</summary>
    public bool Canceled { get; }

    public static UpstreamResult Ok(UpstreamResponse response) => new(response, null, false);
    public static UpstreamResult Fail(GatewayError error) => new(null, error, false);
    public static readonly UpstreamResult CanceledResult = new(null, null, true);
}
