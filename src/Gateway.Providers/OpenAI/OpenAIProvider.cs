using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gateway.Core.Config;
using Gateway.Core.Errors;
using Gateway.Core.Providers;
using Gateway.Providers.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Providers.OpenAI;

/// <summary>
/// OpenAI and every OpenAI-compatible server (vLLM, Ollama, Groq, Mistral, DeepSeek, OpenRouter,
/// LM Studio): the body passes through as the client sent it, model rewritten; the answer's bytes
/// come back untouched.
/// </summary>
internal sealed partial class OpenAIProvider : IProvider, IResponsesProvider
{
    public const string DefaultBaseUrl = "https://api.openai.com/v1";
    private const int MaxErrorBody = 1024 * 1024;
    private static readonly TimeSpan ModelListTtl = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan ModelListTimeout = TimeSpan.FromSeconds(5);

    // What api.openai.com serves for chat and embeddings, listed when the upstream cannot be asked.
    private static readonly string[] OpenAIDefaults =
        ["gpt-4o-mini", "gpt-4o", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o4-mini", "o3", "text-embedding-3-small", "text-embedding-3-large"];

    private readonly HttpMessageInvoker _invoker;
    private readonly ILogger _logger;
    private readonly IOpenAIEndpoints _endpoints;
    private readonly KeyValuePair<string, string>[] _extraHeaders;
    private (IReadOnlyList<string> Models, DateTime Until)? _modelCache;

    public OpenAIProvider(ProviderConfig config, HttpMessageInvoker invoker, ILogger logger, IOpenAIEndpoints? endpoints = null)
    {
        Config = config;
        _invoker = invoker;
        _logger = logger;
        _endpoints = endpoints ?? new OpenAIEndpoints(config.BaseUrl ?? DefaultBaseUrl, config.ApiKey, responses: config.ResponsesApi ?? config.Type == OpenAIKind.TypeName);
        _extraHeaders = [.. config.Headers];
    }

    public string Name => Config.Name;
    public ProviderConfig Config { get; }

    public ValueTask<UpstreamResult> SendAsync(ProviderCall call, CancellationToken cancellationToken) =>
        SendToAsync(_endpoints.For(call.Operation, call.Model.Span), call, cancellationToken);

    public bool ServesResponses => _endpoints.Responses is not null;

    public ValueTask<UpstreamResult> SendResponsesAsync(ProviderCall call, CancellationToken cancellationToken) =>
        SendToAsync(_endpoints.Responses ?? throw new InvalidOperationException($"provider '{Name}' serves no Responses API"), call, cancellationToken);

    private async ValueTask<UpstreamResult> SendToAsync(Uri uri, ProviderCall call, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Version = HttpVersion.Version11,
            // HTTP/2 when the upstream offers it over TLS (ALPN); plain HTTP/1.1 keep-alive otherwise.
            VersionPolicy = HttpVersionPolicy.RequestVersionOrHigher,
            Content = new UpstreamBodyContent(call.Body),
        };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        AddHeaders(request.Headers);
        if (call.Stream) request.Headers.TryAddWithoutValidation("Accept", "text/event-stream");

        var (response, failure) = await UpstreamHttp.SendAsync(_invoker, request, Name, cancellationToken, call.ConnectTimeout, call.Trace).ConfigureAwait(false);
        if (response is null) return failure;
        return await UpstreamHttp.RelayAsync(request, response, Name, "x-request-id", MaxErrorBody, this,
            static (self, status, body, answer) => OpenAIErrors.FromResponse(self.Name, status, body, self.Config.ApiKey, UpstreamHttp.Header(answer, "retry-after")),
            cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken)
    {
        if (Config.Models.Count > 0) return Config.Models;
        if (_modelCache is { } cached && cached.Until > DateTime.UtcNow) return cached.Models;
        if (_endpoints.Models is not { } modelsUri) return [];

        IReadOnlyList<string> models;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ModelListTimeout);
            using var request = new HttpRequestMessage(HttpMethod.Get, modelsUri) { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionOrHigher };
            AddHeaders(request.Headers);
            using var response = await _invoker.SendAsync(request, timeout.Token).ConfigureAwait(false);
            response.EnsureSuccessStatusCode();
            var body = await UpstreamHttp.ReadBoundedAsync(response.Content, 8 * 1024 * 1024, truncate: false, timeout.Token).ConfigureAwait(false);
            models = ParseModelList(body);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException or JsonException)
        {
            Log.ModelListFailed(_logger, Name, ex.Message);
            models = Config.Type == OpenAIKind.TypeName ? OpenAIDefaults : [];
        }
        _modelCache = (models, DateTime.UtcNow + ModelListTtl);
        return models;
    }

    internal static IReadOnlyList<string> ParseModelList(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        using var doc = JsonDocument.ParseValue(ref reader);
        var list = new List<string>();
        if (doc.RootElement.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Array)
            foreach (var item in data.EnumerateArray())
                if (item.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String && id.GetString() is { Length: > 0 } s)
                    list.Add(s);
        list.Sort(StringComparer.Ordinal);
        return list;
    }

    private void AddHeaders(HttpRequestHeaders headers)
    {
        _endpoints.Authenticate(headers);
        foreach (var (name, value) in _extraHeaders) headers.TryAddWithoutValidation(name, value);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Provider {Provider}: could not list models ({Reason}); listing defaults")]
        public static partial void ModelListFailed(ILogger logger, string provider, string reason);
    }
}
