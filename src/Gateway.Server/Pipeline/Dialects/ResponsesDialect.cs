using System.Buffers;
using System.Text.Json;
using Gateway.Core.Errors;
using Gateway.Core.Json;
using Gateway.Core.Providers;
using Gateway.Core.Routing;
using Gateway.Core.Sse;
using Gateway.Providers.OpenAI;
using Gateway.Server.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Pipeline.Dialects;

/// <summary>
/// OpenAI's Responses API (<c>/v1/responses</c>), as the OpenAI Agents SDK, Codex and the Vercel AI SDK call it.
/// Routed to OpenAI itself, the client's bytes pass through with only the model rewritten (so
/// <c>previous_response_id</c>, <c>store</c> and built-in tools work as OpenAI runs them); to any other provider
/// the request is translated to the canonical form and the answer back, a stream event by event. Errors use
/// OpenAI's shape.
/// </summary>
internal sealed partial class ResponsesDialect : InboundDialect
{
    public override string Name => "responses";

    public override RequestKind Kind => RequestKind.Responses;

    public override bool IsCanonical => false;

    public override GatewayError? ToCanonical(ReadOnlyMemory<byte> body, string model, IBufferWriter<byte> output, ILogger logger)
    {
        var dropped = new List<string>();
        var error = ResponsesRequestTranslator.Translate(body, model, output, dropped);
        if (error is null && dropped.Count > 0) Log.DroppedFields(logger, model, string.Join(", ", dropped));
        return error;
    }

    // A group mixing OpenAI with other providers is translated, so a retry can go to any of them.
    public override bool ServesNatively(in ModelRoute route) =>
        route.Provider is IResponsesProvider { ServesResponses: true }
        && (route.Group is null || route.Group.Deployments.All(d => d.Target.Provider is IResponsesProvider { ServesResponses: true }));

    public override ValueTask<UpstreamResult> SendNativeAsync(IProvider provider, ProviderCall call, HttpRequest request, CancellationToken cancellationToken) =>
        ((IResponsesProvider)provider).SendResponsesAsync(call, cancellationToken);

    public override ISseFrameOutput NativeStreamOutput() => new NativeEvents();

    public override bool TryReadNativeUsage(ReadOnlySpan<byte> answer, out TokenUsage usage)
    {
        usage = default;
        return answer.IndexOf("\"usage\""u8) >= 0 && AnswerUsage.TryFindTopLevelObject(answer, "usage"u8, out var found) && NativeUsage.TryRead(found, out usage);
    }

    public override ISseFrameOutput StreamOutput(GatewayRequest request, string model, bool clientAskedUsage, ReadOnlyMemory<byte> canonicalRequest) =>
        new TranslatedEvents(new ResponsesStreamTranslator(model));

    public override string StreamContentType(string? upstream) => "text/event-stream; charset=utf-8";

    public override bool TryWriteAnswer(ReadOnlyMemory<byte> canonical, string model, IBufferWriter<byte> output, out GatewayError? error)
    {
        error = ResponsesAnswer.Translate(canonical, model, output);
        return true;
    }

    /// <summary>A broken Responses stream ends with an <c>error</c> event, which the OpenAI SDKs raise.</summary>
    public override void WriteStreamError(IBufferWriter<byte> output, GatewayError error)
    {
        output.Write("event: error\ndata: "u8);
        using (var w = new Utf8JsonWriter(output))
        {
            w.WriteStartObject();
            w.WriteString("type"u8, "error"u8);
            w.WriteString("code"u8, error.Code);
            w.WriteString("message"u8, error.Message);
            w.WriteNull("param"u8);
            w.WriteEndObject();
        }
        output.Write("\n\n"u8);
    }

    /// <summary>
    /// OpenAI's Responses events forwarded byte for byte. The stream ended properly with <c>response.completed</c>,
    /// <c>.incomplete</c> or <c>.failed</c> (the provider's own <c>error</c> event goes to the client as it came);
    /// the usage is read from that terminal event's response.
    /// </summary>
    private sealed class NativeEvents : PassthroughEvents
    {
        protected override void Watch(ReadOnlySpan<byte> frame)
        {
            if (frame.StartsWith("event: response.completed"u8) || frame.StartsWith("event: response.incomplete"u8) || frame.StartsWith("event: response.failed"u8)
                || frame.StartsWith("event: error"u8) || IsTerminalData(frame))
            {
                Completed = true;
                ReadUsage(Data(frame));
            }
        }

        // Events may come without their "event:" line: the type is in the data too.
        private static bool IsTerminalData(ReadOnlySpan<byte> frame) =>
            frame.IndexOf("\"type\":\"response.completed\""u8) >= 0 || frame.IndexOf("\"type\":\"response.incomplete\""u8) >= 0
            || frame.IndexOf("\"type\":\"response.failed\""u8) >= 0;

        private void ReadUsage(ReadOnlySpan<byte> payload)
        {
            if (!AnswerUsage.TryFindTopLevelObject(payload, "response"u8, out var response)) return;
            if (AnswerUsage.TryFindTopLevelObject(response, "usage"u8, out var usage) && NativeUsage.TryRead(usage, out var read)) Usage = read;
        }
    }

    /// <summary>The Responses API's usage object: input and output tokens, cached and reasoning ones among them. Read forward, without a document.</summary>
    private static class NativeUsage
    {
        public static bool TryRead(ReadOnlySpan<byte> json, out TokenUsage usage)
        {
            usage = default;
            int input = 0, output = 0, cached = 0, reasoning = 0;
            try
            {
                var reader = new Utf8JsonReader(json);
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("input_tokens"u8)) input = Int(ref reader);
                    else if (reader.ValueTextEquals("output_tokens"u8)) output = Int(ref reader);
                    else if (reader.ValueTextEquals("input_tokens_details"u8)) cached = Detail(ref reader, "cached_tokens"u8);
                    else if (reader.ValueTextEquals("output_tokens_details"u8)) reasoning = Detail(ref reader, "reasoning_tokens"u8);
                    else { reader.Read(); reader.Skip(); }
                }
            }
            catch (JsonException)
            {
                return false;
            }
            usage = new TokenUsage(input, output, input + output, cached, reasoning);
            return true;
        }

        private static int Int(ref Utf8JsonReader reader)
        {
            reader.Read();
            return reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int value) ? value : 0;
        }

        /// <summary>One count inside a details object (the reader is on its name; it ends on the object's end).</summary>
        private static int Detail(ref Utf8JsonReader reader, ReadOnlySpan<byte> name)
        {
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                return 0;
            }
            int found = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals(name)) found = Int(ref reader);
                else { reader.Read(); reader.Skip(); }
            }
            return found;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "/v1/responses for {Model}: fields without a canonical equivalent were dropped: {Fields}")]
        public static partial void DroppedFields(ILogger logger, string model, string fields);
    }
}
