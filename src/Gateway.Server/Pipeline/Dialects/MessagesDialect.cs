using System.Buffers;
using System.Text.Json;
using Gateway.Core;
using Gateway.Core.Errors;
using Gateway.Core.Json;
using Gateway.Core.Providers;
using Gateway.Core.Routing;
using Gateway.Core.Sse;
using Gateway.Providers.Anthropic;
using Gateway.Server.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Pipeline.Dialects;

/// <summary>
/// Anthropic's Messages API (<c>/v1/messages</c>). Routed to providers that speak it natively, the
/// client's bytes pass through with only the model rewritten; to any other, the request is translated
/// once to the canonical form and the answer back, a stream frame by frame as it arrives. Errors use
/// Anthropic's shape, so the Anthropic SDKs raise their own typed errors.
/// </summary>
internal sealed partial class MessagesDialect : InboundDialect
{
    private static readonly string[] PassedHeaders = ["anthropic-version", "anthropic-beta"];

    public override string Name => "messages";

    public override RequestKind Kind => RequestKind.ChatCompletions;

    public override bool IsCanonical => false;

    public override GatewayError? CheckHeaders(HttpRequest request)
    {
        if (request.Headers["anthropic-version"] is { Count: 1 } version && string.CompareOrdinal(version[0], "2023-06-01") < 0)
            return GatewayError.BadRequest($"anthropic-version: '{version[0]}' is not supported; use 2023-06-01 or later.", "invalid_version");
        // Headers passed on to the provider are checked here, not left to fail at send time.
        foreach (var name in PassedHeaders)
            if (request.Headers[name] is { Count: > 0 } passed && HeaderValues.Problem(passed.ToString()) is { } problem)
                return GatewayError.BadRequest($"The {name} header {problem}.", "invalid_header");
        return null;
    }

    public override GatewayError? ToCanonical(ReadOnlyMemory<byte> body, string model, IBufferWriter<byte> output, ILogger logger)
    {
        var dropped = new List<string>();
        // max_tokens here; an attempt on OpenAI itself renames it (see WriteUpstream), so a retry on
        // another kind of provider gets the name that one knows.
        var error = AnthropicRequestTranslator.Translate(body, model, maxCompletionTokens: false, output, dropped);
        if (error is null && dropped.Count > 0) Log.DroppedFields(logger, model, string.Join(", ", dropped));
        return error;
    }

    public override void WriteUpstream(ReadOnlySpan<byte> json, in RequestShape shape, ReadOnlySpan<byte> modelJson, in ModelRoute route, bool ensureUsage, PooledBufferWriter output)
    {
        if (route.Provider.Config.Type != Gateway.Providers.OpenAI.OpenAIKind.TypeName)
        {
            RequestRewriter.Rewrite(json, shape, modelJson, ensureUsage, output);
            return;
        }
        // OpenAI's reasoning models refuse max_tokens and want max_completion_tokens; most
        // compatible servers know only max_tokens.
        using var spliced = new PooledBufferWriter(json.Length + modelJson.Length + 64);
        RequestRewriter.Rewrite(json, shape, modelJson, ensureUsage, spliced);
        if (!RequestRewriter.RenameTopLevel(spliced.WrittenMemory.Span, "max_tokens"u8, "max_completion_tokens"u8, output)) output.Write(spliced.WrittenMemory.Span);
    }

    // A group mixing Anthropic with other providers is translated, so a retry can go to any of them.
    public override bool ServesNatively(in ModelRoute route) =>
        route.Provider is IMessagesProvider && (route.Group is null || route.Group.Deployments.All(d => d.Target.Provider is IMessagesProvider));

    public override ValueTask<UpstreamResult> SendNativeAsync(IProvider provider, ProviderCall call, HttpRequest request, CancellationToken cancellationToken)
    {
        var headers = new List<KeyValuePair<string, string>>(2);
        foreach (var name in PassedHeaders)
            if (request.Headers[name] is { Count: > 0 } value) headers.Add(KeyValuePair.Create(name, value.ToString()));
        return ((IMessagesProvider)provider).SendMessagesAsync(call, headers, cancellationToken);
    }

    public override ISseFrameOutput NativeStreamOutput() => new NativeEvents();

    public override bool TryReadNativeUsage(ReadOnlySpan<byte> answer, out TokenUsage usage)
    {
        usage = default;
        if (answer.IndexOf("\"usage\""u8) < 0 || !AnswerUsage.TryFindTopLevelObject(answer, "usage"u8, out var found)) return false;
        var reader = new Utf8JsonReader(found);
        reader.Read();
        usage = NativeUsage.Read(ref reader, default);
        return true;
    }

    public override ISseFrameOutput StreamOutput(GatewayRequest request, string model, bool clientAskedUsage, ReadOnlyMemory<byte> canonicalRequest) =>
        new TranslatedEvents(new AnthropicStreamTranslator(model), canonicalRequest);

    public override string StreamContentType(string? upstream) => "text/event-stream; charset=utf-8";

    public override bool TryWriteAnswer(ReadOnlyMemory<byte> canonical, string model, IBufferWriter<byte> output, out GatewayError? error)
    {
        error = AnthropicResponseTranslator.Translate(canonical, model, output);
        return true;
    }

    public override string ErrorFormat => AnthropicErrors.Format;

    public override ReadOnlyMemory<byte> ErrorBody(GatewayError error) => AnthropicErrors.ToBytes(error);

    public override void WriteStreamError(IBufferWriter<byte> output, GatewayError error) => AnthropicErrors.WriteSseEvent(output, error);

    /// <summary>
    /// Anthropic events forwarded byte for byte; <c>message_stop</c> (or the provider's own <c>error</c>
    /// event) ends the stream properly. Usage is read from <c>message_start</c> (input) and <c>message_delta</c> (output).
    /// </summary>
    private sealed class NativeEvents : PassthroughEvents
    {
        protected override void Watch(ReadOnlySpan<byte> frame)
        {
            if (frame.StartsWith("event: message_stop"u8) || frame.IndexOf("\"type\":\"message_stop\""u8) >= 0 || frame.StartsWith("event: error"u8)) Completed = true;
            else if (frame.IndexOf("\"usage\""u8) >= 0) ReadUsage(Data(frame));
        }

        // message_start has the input's usage, message_delta the output's: each adds to what the other said.
        private void ReadUsage(ReadOnlySpan<byte> payload)
        {
            var usage = Usage ?? default;
            bool saw = false;
            try
            {
                var reader = new Utf8JsonReader(payload);
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("usage"u8)) // message_delta
                    {
                        reader.Read();
                        if (reader.TokenType != JsonTokenType.StartObject) { reader.Skip(); continue; }
                        usage = NativeUsage.Read(ref reader, usage);
                        saw = true;
                    }
                    else if (reader.ValueTextEquals("message"u8)) // message_start
                    {
                        reader.Read();
                        if (reader.TokenType != JsonTokenType.StartObject) { reader.Skip(); continue; }
                        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                        {
                            bool isUsage = reader.ValueTextEquals("usage"u8);
                            reader.Read();
                            if (isUsage && reader.TokenType == JsonTokenType.StartObject)
                            {
                                usage = NativeUsage.Read(ref reader, usage);
                                saw = true;
                            }
                            else reader.Skip();
                        }
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }
            }
            catch (JsonException)
            {
                // forwarded as it came, uncounted
            }
            if (saw) Usage = usage;
        }
    }

    /// <summary>Anthropic's usage object: input excludes cache reads and writes, which the record counts in its input as OpenAI does.</summary>
    private static class NativeUsage
    {
        /// <summary>Reads the object the reader is on; a field it lacks keeps its value from <paramref name="before"/> (message_delta repeats only some).</summary>
        public static TokenUsage Read(ref Utf8JsonReader reader, TokenUsage before)
        {
            int input = -1, output = -1, read = -1, write = -1;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                ref int field = ref input;
                if (reader.ValueTextEquals("input_tokens"u8)) field = ref input;
                else if (reader.ValueTextEquals("output_tokens"u8)) field = ref output;
                else if (reader.ValueTextEquals("cache_read_input_tokens"u8)) field = ref read;
                else if (reader.ValueTextEquals("cache_creation_input_tokens"u8)) field = ref write;
                else { reader.Read(); reader.Skip(); continue; }
                reader.Read();
                if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int value)) field = value;
            }
            int cacheRead = read >= 0 ? read : before.CachedTokens, cacheWrite = write >= 0 ? write : before.CacheWriteTokens;
            int uncached = input >= 0 ? input : before.PromptTokens - before.CachedTokens - before.CacheWriteTokens;
            int prompt = uncached + cacheRead + cacheWrite, completion = output >= 0 ? output : before.CompletionTokens;
            return new TokenUsage(prompt, completion, prompt + completion, cacheRead, 0, cacheWrite);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "/v1/messages for {Model}: fields without a canonical equivalent were dropped: {Fields}")]
        public static partial void DroppedFields(ILogger logger, string model, string fields);
    }
}
