using System.Net.Http.Headers;
using Gateway.Core.Providers;

namespace Gateway.Providers.OpenAI;

/// <summary>Where an OpenAI-wire provider is called and how it is authenticated: the part that differs between OpenAI and Azure.</summary>
internal interface IOpenAIEndpoints
{
    Uri For(ProviderOperation operation, ReadOnlySpan<byte> model);

    /// <summary>The model list, or null when the provider has none to ask.</summary>
    Uri? Models { get; }

    /// <summary>OpenAI's Responses API, or null when the provider does not serve it.</summary>
    Uri? Responses { get; }

    void Authenticate(HttpRequestHeaders headers);
}

/// <summary>api.openai.com and every compatible server: fixed paths under the base URL, a Bearer key.</summary>
/// <param name="responses">The server has OpenAI's Responses API (<c>openai</c>; an <c>openai-compatible</c> one is taken to be chat only).</param>
internal sealed class OpenAIEndpoints(string baseUrl, string? apiKey, bool responses = false) : IOpenAIEndpoints
{
    private readonly Uri _chat = new(baseUrl.TrimEnd('/') + "/chat/completions");
    private readonly Uri _embeddings = new(baseUrl.TrimEnd('/') + "/embeddings");
    private readonly string? _authorization = string.IsNullOrEmpty(apiKey) ? null : "Bearer " + apiKey;

    public Uri For(ProviderOperation operation, ReadOnlySpan<byte> model) => operation == ProviderOperation.Embeddings ? _embeddings : _chat;

    public Uri? Models { get; } = new(baseUrl.TrimEnd('/') + "/models");

    public Uri? Responses { get; } = responses ? new(baseUrl.TrimEnd('/') + "/responses") : null;

    public void Authenticate(HttpRequestHeaders headers)
    {
        if (_authorization is not null) headers.TryAddWithoutValidation("Authorization", _authorization);
    }
}
