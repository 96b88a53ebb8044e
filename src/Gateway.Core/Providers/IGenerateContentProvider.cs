namespace Gateway.Core.Providers;

/// <summary>
/// A provider that speaks the Gemini API natively: Gemini API requests routed to it pass through as the
/// client sent them (the model goes in the URL), and its answers and events come back untouched.
/// </summary>
public interface IGenerateContentProvider
{
    /// <param name="call">The client's Gemini body as it came; <see cref="ProviderCall.Model"/> the provider's model id,
    /// <see cref="ProviderCall.Stream"/> whether to call <c>streamGenerateContent</c>.</param>
    /// <param name="cancellationToken">Fires on the client leaving or a deadline.</param>
    ValueTask<UpstreamResult> SendGenerateContentAsync(ProviderCall call, CancellationToken cancellationToken);
}
