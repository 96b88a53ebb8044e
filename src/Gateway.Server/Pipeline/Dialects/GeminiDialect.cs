using System.Buffers;
using Gateway.Core.Errors;
using Gateway.Core.Json;
using Gateway.Core.Providers;
using Gateway.Core.Routing;
using Gateway.Core.Sse;
using Gateway.Server.Http;
using Gateway.Providers.Gemini;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Pipeline.Dialects;

/// <summary>
/// The Gemini API (<c>POST /v1beta/models/{model}:generateContent</c>, <c>:streamGenerateContent?alt=sse</c>, and
/// the same under <c>/v1/</c>), so <c>@google/genai</c> pointed at the gateway reaches any provider. The model is
/// in the URL: everything between <c>models/</c> and the last <c>:</c>, percent-decoded once, a gateway model id
/// like on every other route (<c>openai/gpt-4o-mini</c>, raw slash or <c>%2F</c>, or an alias). The request is made
/// canonical as soon as it is read; answers and streams go back as <c>GenerateContentResponse</c>s, errors in
/// Google's <c>{"error":{"code","message","status"}}</c>.
/// </summary>
internal sealed partial class GeminiDialect : InboundDialect
{
    private const string Generate = ":generateContent", StreamGenerate = ":streamGenerateContent";

    public override string Name => "gemini";

    public override RequestKind Kind => RequestKind.ChatCompletions;

    public override bool ConvertsAtIntake => true;

    public override bool AcceptsGoogleKeys => true;

    public override string KeyHint => "'x-goog-api-key: <key>', '?key=<key>' or 'Authorization: Bearer <key>'";

    /// <summary>Whether a (decoded) request path is a Gemini call: <c>/v1beta/models/…:generateContent</c> and the like.</summary>
    public static bool Matches(string path) =>
        (path.StartsWith("/v1beta/models/", StringComparison.Ordinal) || path.StartsWith("/v1/models/", StringComparison.Ordinal))
        && (path.EndsWith(Generate, StringComparison.Ordinal) || path.EndsWith(StreamGenerate, StringComparison.Ordinal));

    /// <summary>
    /// The model and the method from the request's target as it came (before any decoding, so that a
    /// <c>%2F</c> and a raw slash both come out as one slash, and nothing is decoded twice).
    /// </summary>
    public static bool TryReadTarget(string rawTarget, out string model, out bool stream)
    {
        model = "";
        stream = false;
        int query = rawTarget.IndexOf('?');
        string path = query < 0 ? rawTarget : rawTarget[..query];
        int models = path.IndexOf("/models/", StringComparison.Ordinal);
        int colon = path.LastIndexOf(':');
        // The colon may come percent-encoded in the raw target.
        int encodedColon = path.LastIndexOf("%3A", StringComparison.OrdinalIgnoreCase);
        int methodAt = Math.Max(colon, encodedColon);
        if (models < 0 || methodAt <= models + "/models/".Length) return false;
        string method = Uri.UnescapeDataString(path[methodAt..]);
        if (method is not (Generate or StreamGenerate)) return false;
        stream = method == StreamGenerate;
        string name = path[(models + "/models/".Length)..methodAt];
        // "models/openai/gpt-4o-mini" as the model names the same model.
        if (name.StartsWith("models/", StringComparison.Ordinal)) name = name["models/".Length..];
        model = Uri.UnescapeDataString(name);
        return model.Length > 0;
    }

    public override GatewayError? FromClient(HttpContext context, ReadOnlyMemory<byte> body, IBufferWriter<byte> output, ILogger logger)
    {
        string target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "";
        if (!TryReadTarget(target, out string model, out bool stream))
            return GatewayError.NotFound($"No Gemini method in {context.Request.Path}: the gateway serves POST /v1beta/models/{{model}}:generateContent and :streamGenerateContent.");
        if (stream && context.Request.Query["alt"] is { Count: > 0 } alt && alt[0] != "sse")
            return GatewayError.BadRequest($"alt={alt[0]}: streams are served as server-sent events only (alt=sse).", "unsupported_parameter");
        var dropped = new List<string>();
        var error = GeminiRequestTranslator.Translate(body, model, stream, output, dropped);
        if (error is null && dropped.Count > 0) Log.DroppedFields(logger, model, string.Join(", ", dropped));
        return error;
    }

    // A group mixing Gemini with other providers is translated, so a retry can go to any of them.
    public override bool ServesNatively(in ModelRoute route) =>
        route.Provider is IGenerateContentProvider && (route.Group is null || route.Group.Deployments.All(d => d.Target.Provider is IGenerateContentProvider));

    /// <summary>The client's body as it came: the model is in the URL the provider builds.</summary>
    public override void WriteNative(ReadOnlySpan<byte> json, ReadOnlySpan<byte> clientBody, in RequestShape shape, ReadOnlySpan<byte> modelJson, PooledBufferWriter output) =>
        output.Write(clientBody);

    public override ValueTask<UpstreamResult> SendNativeAsync(IProvider provider, ProviderCall call, HttpRequest request, CancellationToken cancellationToken) =>
        ((IGenerateContentProvider)provider).SendGenerateContentAsync(call, cancellationToken);

    public override ISseFrameOutput NativeStreamOutput() => new NativeEvents();

    public override bool TryReadNativeUsage(ReadOnlySpan<byte> answer, out TokenUsage usage)
    {
        usage = default;
        if (answer.IndexOf("\"usageMetadata\""u8) < 0 || !AnswerUsage.TryFindTopLevelObject(answer, "usageMetadata"u8, out var found)) return false;
        return NativeUsage.TryRead(found, out usage);
    }

    public override ISseFrameOutput StreamOutput(GatewayRequest request, string model, bool clientAskedUsage, ReadOnlyMemory<byte> canonicalRequest) =>
        new TranslatedEvents(new GeminiStreamTranslator(model), canonicalRequest);

    public override string StreamContentType(string? upstream) => "text/event-stream; charset=utf-8";

    public override bool TryWriteAnswer(ReadOnlyMemory<byte> canonical, string model, IBufferWriter<byte> output, out GatewayError? error)
    {
        error = GeminiResponseTranslator.Translate(canonical, model, output);
        return true;
    }

    public override string ErrorFormat => GeminiErrors.Format;

    public override ReadOnlyMemory<byte> ErrorBody(GatewayError error) => GeminiErrors.ToBytes(error);

    public override void WriteStreamError(IBufferWriter<byte> output, GatewayError error) => GeminiErrors.WriteSseEvent(output, error);

    /// <summary>
    /// Gemini's frames forwarded byte for byte. Gemini has no end event: a stream ended properly when a frame
    /// carried a <c>finishReason</c> before the upstream closed. Usage is cumulative on every frame; the last counts.
    /// </summary>
    private sealed class NativeEvents : PassthroughEvents
    {
        protected override ReadOnlySpan<byte> BlankLine => "\r\n\r\n"u8;

        protected override void Watch(ReadOnlySpan<byte> frame)
        {
            if (frame.IndexOf("\"finishReason\""u8) >= 0) Completed = true;
            if (frame.IndexOf("\"usageMetadata\""u8) >= 0
                && AnswerUsage.TryFindTopLevelObject(Data(frame), "usageMetadata"u8, out var found) && NativeUsage.TryRead(found, out var usage))
                Usage = usage;
        }
    }

    /// <summary><c>usageMetadata</c>: thinking is counted apart from the candidates, and in the completion here, as OpenAI does.</summary>
    private static class NativeUsage
    {
        public static bool TryRead(ReadOnlySpan<byte> json, out TokenUsage usage)
        {
            usage = default;
            int prompt = 0, candidates = 0, thoughts = 0, cached = 0;
            try
            {
                var reader = new System.Text.Json.Utf8JsonReader(json);
                if (!reader.Read() || reader.TokenType != System.Text.Json.JsonTokenType.StartObject) return false;
                while (reader.Read() && reader.TokenType == System.Text.Json.JsonTokenType.PropertyName)
                {
                    ref int field = ref prompt;
                    if (reader.ValueTextEquals("promptTokenCount"u8)) field = ref prompt;
                    else if (reader.ValueTextEquals("candidatesTokenCount"u8)) field = ref candidates;
                    else if (reader.ValueTextEquals("thoughtsTokenCount"u8)) field = ref thoughts;
                    else if (reader.ValueTextEquals("cachedContentTokenCount"u8)) field = ref cached;
                    else { reader.Read(); reader.Skip(); continue; }
                    reader.Read();
                    if (reader.TokenType == System.Text.Json.JsonTokenType.Number && reader.TryGetInt32(out int value)) field = value;
                }
            }
            catch (System.Text.Json.JsonException)
            {
                return false;
            }
            usage = new TokenUsage(prompt, candidates + thoughts, prompt + candidates + thoughts, cached, thoughts);
            return true;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "Gemini API call for {Model}: fields without a canonical equivalent were dropped: {Fields}")]
        public static partial void DroppedFields(ILogger logger, string model, string fields);
    }
}
