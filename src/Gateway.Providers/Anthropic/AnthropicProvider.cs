using System.Buffers;
using System.Net;
using System.Text;
using Gateway.Core.Config;
using Gateway.Core.Errors;
using Gateway.Core.Protocol;
using Gateway.Core.Providers;
using Gateway.Core.Sse;
using Gateway.Providers.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Providers.Anthropic;

/// <summary>
/// Anthropic's Messages API behind the gateway's OpenAI-format provider contract: the OpenAI body is
/// translated into a Messages request, the answer back into a <c>chat.completion</c>, and a stream
/// event by event into <c>chat.completion.chunk</c> frames as it arrives.
/// </summary>
internal sealed partial class AnthropicProvider : IProvider, IMessagesProvider
{
    public const string DefaultBaseUrl = "https://api.anthropic.com";
    public const string ApiVersion = "2023-06-01";
    private static readonly string[] KnownModels = ["claude-opus-4-5", "claude-sonnet-4-5", "claude-haiku-4-5"];

    private readonly HttpMessageInvoker _invoker;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Uri _messagesUri;
    private readonly KeyValuePair<string, string>[] _extraHeaders;

    public AnthropicProvider(ProviderConfig config, HttpMessageInvoker invoker, ILogger logger, TimeProvider time)
    {
        Config = config;
        _invoker = invoker;
        _logger = logger;
        _time = time;
        _messagesUri = new Uri((config.BaseUrl ?? DefaultBaseUrl).TrimEnd('/') + "/v1/messages");
        _extraHeaders = [.. config.Headers];
    }

    public string Name => Config.Name;
    public ProviderConfig Config { get; }

    public ValueTask<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<string>>(Config.Models.Count > 0 ? Config.Models : KnownModels);

    public async ValueTask<UpstreamResult> SendAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        if (call.Operation != ProviderOperation.ChatCompletions)
            return UpstreamResult.Fail(GatewayError.BadRequest($"Provider '{Name}' (Anthropic) has no embeddings API.", "unsupported_operation"));

        var body = new ArrayBufferWriter<byte>(call.Body.Length + 256);
        var dropped = new List<string>();
        string model = Encoding.UTF8.GetString(call.Model.Span);
        var translationError = ProtocolReader.ReadRequest(call.Body, out var chat)
            ?? AnthropicUpstreamRequest.Translate(chat, JsonModel(model), body, dropped);
        if (translationError is not null) return UpstreamResult.Fail(translationError);
        if (dropped.Count > 0) Log.Dropped(_logger, Name, string.Join(", ", dropped));

        var request = new HttpRequestMessage(HttpMethod.Post, _messagesUri)
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrHigher,
            Content = new UpstreamBodyContent(body.WrittenMemory),
        };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        if (!string.IsNullOrEmpty(Config.ApiKey)) request.Headers.TryAddWithoutValidation("x-api-key", Config.ApiKey);
        request.Headers.TryAddWithoutValidation("anthropic-version", ApiVersion);
        foreach (var (name, value) in _extraHeaders) request.Headers.TryAddWithoutValidation(name, value);

        var (response, failure) = await UpstreamHttp.SendAsync(_invoker, request, Name, cancellationToken, call.ConnectTimeout, call.Trace).ConfigureAwait(false);
        if (response is null) return failure;
        var translation = new Translation(this, model, _time.GetUtcNow().ToUnixTimeSeconds(), call, chat.WantsStreamUsage);
        return await TranslatedAnswer.ReadAsync(request, response, translation, Name, "request-id", cancellationToken).ConfigureAwait(false);
    }

    private sealed class Translation(AnthropicProvider provider, string model, long created, ProviderCall call, bool includeUsage) : IAnswerTranslation
    {
        public GatewayError Error(int status, byte[] body, HttpResponseMessage response) =>
            AnthropicUpstreamErrors.FromResponse(provider.Name, status, body, provider.Config.ApiKey, UpstreamHttp.Header(response, "retry-after"));

        public bool IsStream(HttpResponseMessage response) => call.Stream && response.Content.Headers.ContentType?.MediaType == "text/event-stream";

        public (Stream Body, Gateway.Core.Sse.IStreamTranslator? Translator) OpenStream(Stream upstream) =>
            (upstream, new AnthropicUpstreamStream(model, created, includeUsage));

        public GatewayError? Translate(byte[] answer, IBufferWriter<byte> output) => AnthropicUpstreamResponse.Translate(answer, model, created, output);
    }

    public async ValueTask<UpstreamResult> SendMessagesAsync(ProviderCall call, IReadOnlyList<KeyValuePair<string, string>> clientHeaders, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, _messagesUri)
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrHigher,
            Content = new UpstreamBodyContent(call.Body),
        };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        if (!string.IsNullOrEmpty(Config.ApiKey)) request.Headers.TryAddWithoutValidation("x-api-key", Config.ApiKey);
        bool versioned = false;
        foreach (var (name, value) in clientHeaders)
        {
            request.Headers.TryAddWithoutValidation(name, value);
            versioned |= name.Equals("anthropic-version", StringComparison.OrdinalIgnoreCase);
        }
        if (!versioned) request.Headers.TryAddWithoutValidation("anthropic-version", ApiVersion);
        foreach (var (name, value) in _extraHeaders) request.Headers.TryAddWithoutValidation(name, value);

        var (response, failure) = await UpstreamHttp.SendAsync(_invoker, request, Name, cancellationToken, call.ConnectTimeout, call.Trace).ConfigureAwait(false);
        if (response is null) return failure;
        return await UpstreamHttp.RelayAsync(request, response, Name, "request-id", 1024 * 1024, this, static (self, status, errorBody, answer) =>
        {
            var error = AnthropicUpstreamErrors.FromResponse(self.Name, status, errorBody, self.Config.ApiKey, UpstreamHttp.Header(answer, "retry-after"));
            // Same dialect on both sides: the provider's own error body goes back as it came (key scrubbed).
            return status is not (401 or 403) && !error.Message.StartsWith($"Provider '{self.Name}' answered", StringComparison.Ordinal)
                ? error with { Status = status, RawBody = self.Scrub(errorBody), RawBodyFormat = AnthropicErrors.Format }
                : error;
        }, cancellationToken).ConfigureAwait(false);
    }

    private byte[] Scrub(byte[] body) => SecretScrubber.Scrub(body, Config.ApiKey);

    private static byte[] JsonModel(string model) =>
        System.Text.Json.JsonEncodedText.Encode(model, System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping).EncodedUtf8Bytes.ToArray();

    private static partial class Log
    {
        [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "Provider {Provider} (Anthropic): fields without an Anthropic equivalent were dropped: {Fields}")]
        public static partial void Dropped(ILogger logger, string provider, string fields);
    }
}
