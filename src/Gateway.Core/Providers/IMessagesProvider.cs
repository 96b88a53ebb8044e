namespace Gateway.Core.Providers;

/// <summary>
/// A provider that speaks Anthropic's Messages API natively: <c>/v1/messages</c> requests routed to it
/// pass through with only the model rewritten, and its answers and events come back untouched.
/// </summary>
public interface IMessagesProvider
{
    /// <param name="call">The client's Messages body, model already rewritten.</param>
    /// <param name="clientHeaders">Headers the client sent that the API reads (<c>anthropic-version</c>, <c>anthropic-beta</c>).</param>
    /// <param name="cancellationToken">Fires on the client leaving or a deadline.</param>
    ValueTask<UpstreamResult> SendMessagesAsync(ProviderCall call, IReadOnlyList<KeyValuePair<string, string>> clientHeaders, CancellationToken cancellationToken);
}
