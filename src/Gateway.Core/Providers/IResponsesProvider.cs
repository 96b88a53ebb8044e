namespace Gateway.Core.Providers;

/// <summary>
/// A provider that may speak OpenAI's Responses API natively: <c>/v1/responses</c> requests routed to it pass
/// through with only the model rewritten, and its answers and events come back untouched.
/// </summary>
public interface IResponsesProvider
{
    /// <summary>This provider serves <c>/responses</c> (OpenAI itself; a chat-only compatible server does not).</summary>
    bool ServesResponses { get; }

    /// <param name="call">The client's Responses body, model already rewritten.</param>
    /// <param name="cancellationToken">Fires on the client leaving or a deadline.</param>
    ValueTask<UpstreamResult> SendResponsesAsync(ProviderCall call, CancellationToken cancellationToken);
}
