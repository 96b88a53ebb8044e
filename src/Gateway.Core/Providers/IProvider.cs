using Gateway.Core.Config;

namespace Gateway.Core.Providers;

/// <summary>
/// A configured provider. Implementations live in Gateway.Providers, one folder each. At this
/// boundary every provider speaks the OpenAI wire format (the canonical form): a call's body is an
/// OpenAI request and the answer an OpenAI response or chunk stream; providers with another API
/// translate inside their folder. Failures come back as error values, never as exceptions.
/// </summary>
public interface IProvider
{
    string Name { get; }
    ProviderConfig Config { get; }

    /// <summary>Sends the call; never throws for upstream failures (they are returned as errors).</summary>
    ValueTask<UpstreamResult> SendAsync(ProviderCall call, CancellationToken cancellationToken);

    /// <summary>The model ids this provider serves, for /v1/models.</summary>
    ValueTask<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken);
}
