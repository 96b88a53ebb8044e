using System.Buffers;
using System.Net;
using System.Text;
using Gateway.Core.Config;
using Gateway.Core.Errors;
using Gateway.Core.Protocol;
using Gateway.Core.Providers;
using Gateway.Providers.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Providers.Bedrock;

/// <summary>
/// Amazon Bedrock's Converse and ConverseStream APIs behind the gateway's OpenAI-format contract:
/// requests translated and signed with SigV4 (or a Bedrock API key as a Bearer token), answers
/// translated back, the binary event stream decoded and translated event by event.
/// </summary>
internal sealed partial class BedrockProvider : IProvider
{
    private const int MaxBody = 64 * 1024 * 1024;
    private static readonly string[] KnownModels = ["anthropic.claude-sonnet-4-5-20250929-v1:0", "amazon.nova-pro-v1:0", "meta.llama3-3-70b-instruct-v1:0"];

    private readonly HttpMessageInvoker _invoker;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly string _endpoint;

    public BedrockProvider(ProviderConfig config, HttpMessageInvoker invoker, ILogger logger, TimeProvider time)
    {
        Config = config;
        _invoker = invoker;
        _logger = logger;
        _time = time;
        _endpoint = (config.BaseUrl ?? DefaultEndpoint(config.Region ?? "us-east-1")).TrimEnd('/');
    }

    public static string DefaultEndpoint(string region) => $"https://bedrock-runtime.{region}.amazonaws.com";

    public string Name => Config.Name;
    public ProviderConfig Config { get; }

    public ValueTask<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<string>>(Config.Models.Count > 0 ? Config.Models : KnownModels);

    public async ValueTask<UpstreamResult> SendAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        string model = Encoding.UTF8.GetString(call.Model.Span);
        if (call.Operation == ProviderOperation.Embeddings) return await EmbedAsync(call, model, cancellationToken).ConfigureAwait(false);
        var body = new ArrayBufferWriter<byte>(call.Body.Length + 256);
        var dropped = new List<string>();
        var translationError = ProtocolReader.ReadRequest(call.Body, out var chat) ?? BedrockConverseRequest.Translate(chat, body, dropped);
        if (translationError is not null) return UpstreamResult.Fail(translationError);
        if (dropped.Count > 0) Log.Dropped(_logger, Name, string.Join(", ", dropped));

        var uri = new Uri($"{_endpoint}/model/{AwsSigV4.UriEncode(model)}/{(call.Stream ? "converse-stream" : "converse")}");
        var request = new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrHigher,
            Content = new UpstreamBodyContent(body.WrittenMemory),
        };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        Sign(request, uri, body.WrittenSpan);

        var (response, failure) = await UpstreamHttp.SendAsync(_invoker, request, Name, cancellationToken, call.ConnectTimeout, call.Trace).ConfigureAwait(false);
        if (response is null) return failure;
        var translation = new Translation(this, model, _time.GetUtcNow().ToUnixTimeSeconds(), call, chat.WantsStreamUsage, BedrockConverseRequest.UsesAnswerTool(chat));
        return await TranslatedAnswer.ReadAsync(request, response, translation, Name, "x-amzn-requestid", cancellationToken).ConfigureAwait(false);
    }

    private sealed class Translation(BedrockProvider provider, string model, long created, ProviderCall call, bool includeUsage, bool answerTool) : IAnswerTranslation
    {
        public GatewayError Error(int status, byte[] body, HttpResponseMessage response) =>
            BedrockErrors.FromResponse(provider.Name, status, body, UpstreamHttp.Header(response, "x-amzn-errortype"), provider.Config.SecretAccessKey, provider.Config.SessionToken);

        public bool IsStream(HttpResponseMessage response) => call.Stream;

        // AWS's binary event stream is not SSE: its frames are decoded here, into canonical SSE frames the relay splits.
        public (Stream Body, Gateway.Core.Sse.IStreamTranslator? Translator) OpenStream(Stream upstream) =>
            (new EventStreamTranslatingStream(upstream, new BedrockConverseStream(model, created, includeUsage, answerTool)), null);

        public GatewayError? Translate(byte[] answer, IBufferWriter<byte> output) => BedrockConverseResponse.Translate(answer, model, created, output, answerTool);
    }

    /// <summary>Embeddings through InvokeModel: Titan takes one text a call, Cohere a batch.</summary>
    private async ValueTask<UpstreamResult> EmbedAsync(ProviderCall call, string model, CancellationToken cancellationToken)
    {
        if (BedrockEmbeddings.FamilyOf(model) is not { } family)
            return UpstreamResult.Fail(GatewayError.BadRequest($"Provider '{Name}' (Bedrock): embeddings are supported for amazon.titan-embed-* and cohere.embed-* models, not '{model}'.", "unsupported_model"));
        GatewayError? inputError;
        List<string> texts;
        int? dimensions;
        bool base64;
        try
        {
            inputError = BedrockEmbeddings.ReadRequest(call.Body, out texts, out dimensions, out base64);
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return UpstreamResult.Fail(GatewayError.BadRequest($"The request cannot be translated for Bedrock: {ex.Message}", "invalid_request"));
        }
        if (inputError is not null) return UpstreamResult.Fail(inputError);

        var bodies = family == BedrockEmbeddings.Family.Titan
            ? texts.Select(t => BedrockEmbeddings.TitanRequest(t, dimensions)).ToList()
            : [BedrockEmbeddings.CohereRequest(texts)];
        var vectors = new List<float[]>();
        int tokens = 0;
        var uri = new Uri($"{_endpoint}/model/{AwsSigV4.UriEncode(model)}/invoke");
        foreach (var body in bodies)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, uri) { Version = HttpVersion.Version11, Content = new ByteArrayContent(body) };
            request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
            Sign(request, uri, body);
            var (response, failure) = await UpstreamHttp.SendAsync(_invoker, request, Name, cancellationToken, call.ConnectTimeout, call.Trace).ConfigureAwait(false);
            if (response is null) return failure;
            using (request)
            using (response)
            {
                try
                {
                    var answer = await UpstreamHttp.ReadBoundedAsync(response.Content, MaxBody, truncate: false, cancellationToken).ConfigureAwait(false);
                    if (!response.IsSuccessStatusCode)
                        return UpstreamResult.Fail(BedrockErrors.FromResponse(Name, (int)response.StatusCode, answer, UpstreamHttp.Header(response, "x-amzn-errortype"),
                            Config.SecretAccessKey, Config.SessionToken));
                    var (got, count) = BedrockEmbeddings.ReadVectors(answer);
                    vectors.AddRange(got);
                    tokens += count;
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return UpstreamResult.CanceledResult;
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException or System.Text.Json.JsonException)
                {
                    return UpstreamResult.Fail(GatewayError.UpstreamBroken(Name, ex.Message));
                }
            }
        }
        var bytes = BedrockEmbeddings.OpenAIResponse(vectors, tokens, model, base64);
        return UpstreamResult.Ok(new UpstreamResponse(200, "application/json", bytes.Length, new MemoryStream(bytes, writable: false), null));
    }

    private void Sign(HttpRequestMessage request, Uri uri, ReadOnlySpan<byte> body)
    {
        if (!string.IsNullOrEmpty(Config.ApiKey))
        {
            // Bedrock API keys are Bearer tokens; no signature then.
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + Config.ApiKey);
            return;
        }
        var now = _time.GetUtcNow();
        string host = uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port}";
        var signed = new List<KeyValuePair<string, string>>
        {
            new("host", host),
            new("content-type", "application/json"),
            new("x-amz-date", AwsSigV4.AmzDate(now)),
        };
        if (!string.IsNullOrEmpty(Config.SessionToken)) signed.Add(new("x-amz-security-token", Config.SessionToken));
        // Outside S3, SigV4 encodes each path segment once more than the URL does.
        string canonicalUri = string.Join('/', uri.AbsolutePath.Split('/').Select(AwsSigV4.UriEncode));
        var credentials = new AwsCredentials(Config.AccessKeyId ?? "", Config.SecretAccessKey ?? "", Config.SessionToken);
        string authorization = AwsSigV4.Authorization("POST", canonicalUri, "", signed, AwsSigV4.PayloadHash(body), credentials, Config.Region ?? "us-east-1", "bedrock", now);
        foreach (var (name, value) in signed)
            if (name is not ("host" or "content-type")) request.Headers.TryAddWithoutValidation(name, value);
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
    }

    /// <summary>Decodes the binary event stream and hands out the OpenAI frames its events become.</summary>
    private sealed class EventStreamTranslatingStream(Stream upstream, BedrockConverseStream translator) : ReadOnlyForwardStream
    {
        private readonly AwsEventStreamDecoder _decoder = new();
        private readonly ArrayBufferWriter<byte> _pending = new(4096);
        private readonly byte[] _read = new byte[16 * 1024];
        private int _offset;

        public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
        {
            while (_offset == _pending.WrittenCount)
            {
                _pending.ResetWrittenCount();
                _offset = 0;
                if (translator.Completed) return 0;
                int n = await upstream.ReadAsync(_read, cancellationToken).ConfigureAwait(false);
                if (n == 0) return 0; // no metadata event: the relay reports a truncated stream
                _decoder.Append(_read.AsSpan(0, n));
                try
                {
                    while (_decoder.TryRead(out var message)) translator.OnEvent(message, _pending);
                }
                catch (InvalidDataException ex)
                {
                    throw new IOException(ex.Message, ex);
                }
                catch (System.Text.Json.JsonException ex)
                {
                    throw new IOException($"the provider sent a malformed stream event: {ex.Message}", ex);
                }
                if (translator.Error is { } error) throw new IOException($"Bedrock stream error: {error}");
            }
            int count = Math.Min(destination.Length, _pending.WrittenCount - _offset);
            _pending.WrittenSpan.Slice(_offset, count).CopyTo(destination.Span);
            _offset += count;
            return count;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) upstream.Dispose();
            base.Dispose(disposing);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2301, Level = LogLevel.Warning, Message = "Provider {Provider} (Bedrock): fields without a Converse equivalent were dropped: {Fields}")]
        public static partial void Dropped(ILogger logger, string provider, string fields);
    }
}
