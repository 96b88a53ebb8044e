using Gateway.Core.Config;

namespace Gateway.Core.Providers;

/// <summary>
/// A configured provider. Implementations live in Gateway.Providers, one folder each; they turn a
/// <see cref="ProviderCall"/> into the provider's HTTP call and its failures into error values.
/// </summary>
public interface IProvider
{
    string Name { get; }
    ProviderConfig Config { get; }

    /// <summary>Whether the provider speaks the OpenAI wire format, so bodies pass through untouched.</summary>
    bool SpeaksOpenAI { get; }

    /// <summary>Sends the call; never throws for upstream failures (they are returned as errors).</summary>
    ValueTask<UpstreamResult> SendAsync(ProviderCall call, CancellationToken cancellationToken);

    /// <summary>The model ids this provider serves, for /v1/models.</summary>
    ValueTask<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken);
}
