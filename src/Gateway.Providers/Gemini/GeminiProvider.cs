using System.Buffers;
using System.Net;
using System.Text;
using Gateway.Core.Config;
using Gateway.Core.Errors;
using Gateway.Core.Protocol;
using Gateway.Core.Providers;
using Gateway.Providers.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Providers.Gemini;

/// <summary>
/// Google AI Studio's Gemini API (<c>generateContent</c>, <c>streamGenerateContent?alt=sse</c>) behind
/// the gateway's OpenAI-format provider contract. The key travels as <c>x-goog-api-key</c>.
/// </summary>
internal sealed partial class GeminiProvider : IProvider, IGenerateContentProvider
{
    public const string DefaultBaseUrl = "https://generativelanguage.googleapis.com";
    private static readonly string[] KnownModels = ["gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.5-pro", "gemini-embedding-001"];

    private readonly HttpMessageInvoker _invoker;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly string _baseUrl;
    private readonly KeyValuePair<string, string>[] _extraHeaders;

    public GeminiProvider(ProviderConfig config, HttpMessageInvoker invoker, ILogger logger, TimeProvider time)
    {
        Config = config;
        _invoker = invoker;
        _logger = logger;
        _time = time;
        _baseUrl = (config.BaseUrl ?? DefaultBaseUrl).TrimEnd('/');
        _extraHeaders = [.. config.Headers];
    }

    public string Name => Config.Name;
    public ProviderConfig Config { get; }

    public ValueTask<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<string>>(Config.Models.Count > 0 ? Config.Models : KnownModels);

    public async ValueTask<UpstreamResult> SendAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        string model = Encoding.UTF8.GetString(call.Model.Span);
        var body = new ArrayBufferWriter<byte>(call.Body.Length + 256);
        var dropped = new List<string>();
        bool embeddings = call.Operation == ProviderOperation.Embeddings, base64 = false, includeUsage = false;
        GatewayError? translationError;
        if (embeddings)
        {
            try
            {
                translationError = GeminiEmbeddings.TranslateRequest(call.Body, model, body, out base64);
            }
            catch (Exception ex) when (ex is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException)
            {
                translationError = GatewayError.BadRequest($"The request cannot be translated for Gemini: {ex.Message}", "invalid_request");
            }
        }
        else
        {
            translationError = ProtocolReader.ReadRequest(call.Body, out var chat) ?? GeminiUpstreamRequest.Translate(chat, body, dropped);
            includeUsage = chat?.WantsStreamUsage == true;
        }
        if (translationError is not null) return UpstreamResult.Fail(translationError);
        if (dropped.Count > 0) Log.Dropped(_logger, Name, string.Join(", ", dropped));

        var request = NewRequest(model, embeddings ? ":batchEmbedContents" : call.Stream ? ":streamGenerateContent?alt=sse" : ":generateContent", body.WrittenMemory);

        var (response, failure) = await UpstreamHttp.SendAsync(_invoker, request, Name, cancellationToken, call.ConnectTimeout, call.Trace).ConfigureAwait(false);
        if (response is null) return failure;
        var translation = new Translation(this, model, _time.GetUtcNow().ToUnixTimeSeconds(), call, embeddings, base64, includeUsage);
        return await TranslatedAnswer.ReadAsync(request, response, translation, Name, null, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<UpstreamResult> SendGenerateContentAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        string model = Encoding.UTF8.GetString(call.Model.Span);
        var request = NewRequest(model, call.Stream ? ":streamGenerateContent?alt=sse" : ":generateContent", call.Body);

        var (response, failure) = await UpstreamHttp.SendAsync(_invoker, request, Name, cancellationToken, call.ConnectTimeout, call.Trace).ConfigureAwait(false);
        if (response is null) return failure;
        return await UpstreamHttp.RelayAsync(request, response, Name, null, 1024 * 1024, this, static (self, status, errorBody, answer) =>
        {
            var error = GeminiUpstreamErrors.FromResponse(self.Name, status, errorBody, self.Config.ApiKey);
            if (UpstreamHttp.Header(answer, "retry-after") is { } retryAfter) error = error with { Headers = [KeyValuePair.Create("retry-after", retryAfter)] };
            // Same dialect on both sides: the provider's own error body goes back as it came (key scrubbed),
            // except a refused provider key, which is the gateway's trouble and not the client's.
            return status is not (401 or 403) && error.Code != "upstream_auth_failed"
                ? error with { Status = status, RawBody = SecretScrubber.Scrub(errorBody, self.Config.ApiKey), RawBodyFormat = GeminiErrors.Format }
                : error;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A call of one of the model's methods (<c>:generateContent</c> and the like), with the key and the configured headers.</summary>
    private HttpRequestMessage NewRequest(string model, string action, ReadOnlyMemory<byte> body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"{_baseUrl}/v1beta/models/{Uri.EscapeDataString(model)}{action}")
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrHigher,
            Content = new UpstreamBodyContent(body),
        };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        if (!string.IsNullOrEmpty(Config.ApiKey)) request.Headers.TryAddWithoutValidation("x-goog-api-key", Config.ApiKey);
        foreach (var (name, value) in _extraHeaders) request.Headers.TryAddWithoutValidation(name, value);
        return request;
    }

    private sealed class Translation(GeminiProvider provider, string model, long created, ProviderCall call, bool embeddings, bool base64, bool includeUsage) : IAnswerTranslation
    {
        public GatewayError Error(int status, byte[] body, HttpResponseMessage response)
        {
            var error = GeminiUpstreamErrors.FromResponse(provider.Name, status, body, provider.Config.ApiKey);
            return UpstreamHttp.Header(response, "retry-after") is { } retryAfter ? error with { Headers = [KeyValuePair.Create("retry-after", retryAfter)] } : error;
        }

        public bool IsStream(HttpResponseMessage response) => call.Stream && response.Content.Headers.ContentType?.MediaType == "text/event-stream";

        public (Stream Body, Gateway.Core.Sse.IStreamTranslator? Translator) OpenStream(Stream upstream) =>
            (upstream, new GeminiUpstreamStream(model, created, includeUsage, provider.Name));

        public GatewayError? Translate(byte[] answer, IBufferWriter<byte> output) => embeddings
            ? GeminiEmbeddings.TranslateResponse(answer, model, base64, output)
            : GeminiUpstreamResponse.Translate(answer, model, created, provider.Name, output);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2201, Level = LogLevel.Warning, Message = "Provider {Provider} (Gemini): fields without a Gemini equivalent were dropped: {Fields}")]
        public static partial void Dropped(ILogger logger, string provider, string fields);
    }
}
