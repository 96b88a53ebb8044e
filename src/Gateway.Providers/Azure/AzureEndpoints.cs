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
/// </summary>
internal sealed class AzureEndpoints(string endpoint, string apiVersion, string? apiKey) : IOpenAIEndpoints
{
    public const string DefaultApiVersion = "2024-10-21";
    private readonly string _endpoint = endpoint.TrimEnd('/');
    // Deployments are few and fixed; one Uri each, built once.
    private readonly ConcurrentDictionary<(string, ProviderOperation), Uri> _uris = new();

    public Uri For(ProviderOperation operation, ReadOnlySpan<byte> model)
    {
        string deployment = Encoding.UTF8.GetString(model);
        return _uris.GetOrAdd((deployment, operation), static (key, self) =>
            new Uri($"{self._endpoint}/openai/deployments/{Uri.EscapeDataString(key.Item1)}/{(key.Item2 == ProviderOperation.Embeddings ? "embeddings" : "chat/completions")}?api-version={Uri.EscapeDataString(self.ApiVersion)}"), this);
    }

    public string ApiVersion { get; } = apiVersion;

    /// <summary>Azure lists models, not deployments; the config's <c>models</c> names the deployments instead.</summary>
    public Uri? Models => null;

    public void Authenticate(HttpRequestHeaders headers)
    {
        if (!string.IsNullOrEmpty(apiKey)) headers.TryAddWithoutValidation("api-key", apiKey);
    }
}
