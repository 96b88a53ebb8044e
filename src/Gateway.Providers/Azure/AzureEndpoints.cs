using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using Gateway.Core.Providers;
using Gateway.Providers.OpenAI;

namespace Gateway.Providers.Azure;

/// <summary>
/// Azure OpenAI: the model in <c>azure/&lt;deployment&gt;</c> names a deployment, called at
/// <c>{endpoint}/openai/deployments/{deployment}/{operation}?api-version=...</c> with an
/// <c>api-key</c> header. The wire format is OpenAI's, so bodies pass through untouched.
/// The Responses API is the exception: it is served only by Azure's OpenAI-compatible v1 surface,
/// <c>{endpoint}/openai/v1/responses</c>, with no deployment in the path (the body's <c>model</c> names it) and no api-version.
/// </summary>
/// <param name="responses">The resource serves the Responses API (every region but a few; <c>responsesApi: false</c> says otherwise).</param>
internal sealed class AzureEndpoints(string endpoint, string apiVersion, string? apiKey, bool responses = true) : IOpenAIEndpoints
{
    public const string DefaultApiVersion = "2024-10-21";

    /// <summary>
    /// Deployments are few and fixed, so each gets one Uri, built once. But the name comes from the
    /// client (<c>azure/anything</c>): past this many, a name's Uri is built for its request and not
    /// kept, so invented names cannot grow the cache (50,000 of them once took 250 MB).
    /// </summary>
    public const int MaxCachedUris = 1024;

    private readonly string _endpoint = endpoint.TrimEnd('/');
    private readonly ConcurrentDictionary<(string, ProviderOperation), Uri> _uris = new();

    /// <summary>Uris kept now (for tests of the bound).</summary>
    internal int CachedUris => _uris.Count;

    public Uri For(ProviderOperation operation, ReadOnlySpan<byte> model)
    {
        string deployment = Encoding.UTF8.GetString(model);
        if (_uris.TryGetValue((deployment, operation), out var uri)) return uri;
        uri = Build(deployment, operation);
        // The count is read without a lock: a race can add a few past the bound, never without limit.
        if (_uris.Count < MaxCachedUris) _uris.TryAdd((deployment, operation), uri);
        return uri;
    }

    private Uri Build(string deployment, ProviderOperation operation) =>
        new($"{_endpoint}/openai/deployments/{Uri.EscapeDataString(deployment)}/{(operation == ProviderOperation.Embeddings ? "embeddings" : "chat/completions")}?api-version={Uri.EscapeDataString(ApiVersion)}");

    public string ApiVersion { get; } = apiVersion;

    /// <summary>Azure lists models, not deployments; the config's <c>models</c> names the deployments instead.</summary>
    public Uri? Models => null;

    public Uri? Responses { get; } = responses ? new($"{endpoint.TrimEnd('/')}/openai/v1/responses") : null;

    public void Authenticate(HttpRequestHeaders headers)
    {
        if (!string.IsNullOrEmpty(apiKey)) headers.TryAddWithoutValidation("api-key", apiKey);
    }
}
