using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Core.Protocol;
using Gateway.Core.Sse;
using Gateway.Fuzzing;
using Gateway.Providers.Anthropic;
using Gateway.Providers.Bedrock;
using Gateway.Providers.Gemini;
using Gateway.Providers.OpenAI;

namespace Gateway.Providers.Tests.Fuzzing;

/// <summary>
/// Each translator's reader and the AWS event-stream decoder under 100,000 seeded random mutations:
/// a request or answer reader returns an error value; a stream reader may throw only what the relay
/// turns into a failed stream (<see cref="JsonException"/> for a malformed event,
/// <see cref="InvalidDataException"/> for a corrupt binary frame).
/// </summary>
public class TranslatorFuzzTests
{
    private const int Inputs = 100_000;

    private static bool StreamFailure(Exception ex) => ex is JsonException or InvalidDataException;

    /// <summary>Splits the input into SSE frames and feeds them one by one, as the relay does.</summary>
    private static void Frames(byte[] input, Action<byte[]> onFrame)
    {
        int start = 0;
        while (start < input.Length)
        {
            int end = SseFrameScanner.FindFrameEnd(input.AsSpan(start), isFinal: true);
            if (end < 0) end = input.Length - start;
            onFrame(input.AsSpan(start, end).ToArray());
            start += end;
        }
    }

    [Fact]
    public void AnthropicInbound_RequestTranslator_ReturnsErrors()
    {
        var corpus = new[]
        {
            """{"model":"m","max_tokens":10,"system":"s","messages":[{"role":"user","content":"hi"}]}"""u8.ToArray(),
            """{"model":"m","max_tokens":10,"stream":true,"system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral"}}],"tools":[{"name":"f","description":"d","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"f"},"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]},{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"tool_use","id":"t1","name":"f","input":{"a":1}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"r"}],"is_error":false}]}],"thinking":{"type":"enabled","budget_tokens":1024},"stop_sequences":["x"],"metadata":{"user_id":"u"}}"""u8.ToArray(),
        };
        Mutator.Run("AnthropicRequestTranslator", 2001, corpus, Inputs, input =>
            _ = AnthropicRequestTranslator.Translate(input, "m", maxCompletionTokens: false, new ArrayBufferWriter<byte>(), []));
    }

    [Fact]
    public void AnthropicInbound_AnswerAndStream_FromOpenAI()
    {
        var answers = new[]
        {
            """{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi","reasoning_content":"r","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"prompt_tokens_details":{"cached_tokens":1}}}"""u8.ToArray(),
        };
        Mutator.Run("AnthropicResponseTranslator", 2002, answers, Inputs, input => _ = AnthropicResponseTranslator.Translate(input, "m", new ArrayBufferWriter<byte>()));
        var streams = new[]
        {
            Encoding.UTF8.GetBytes("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"hi\"}}]}\n\n"
                + "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"t\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\"\"}}]}}]}\n\n"
                + "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}\n\ndata: [DONE]\n\n"),
        };
        Mutator.Run("AnthropicStreamTranslator", 2003, streams, Inputs, input =>
        {
            var translator = new AnthropicStreamTranslator("m");
            var output = new ArrayBufferWriter<byte>();
            Frames(input, frame => translator.OnFrame(frame, output));
        }, StreamFailure);
    }

    [Fact]
    public void AnthropicUpstream_AnswerAndStream_ToOpenAI()
    {
        var answers = new[]
        {
            """{"id":"msg","type":"message","role":"assistant","model":"m","content":[{"type":"thinking","thinking":"t"},{"type":"text","text":"hi"},{"type":"tool_use","id":"t","name":"f","input":{"a":[1,2]}}],"stop_reason":"tool_use","usage":{"input_tokens":3,"output_tokens":4,"cache_read_input_tokens":1,"cache_creation_input_tokens":2}}"""u8.ToArray(),
        };
        Mutator.Run("AnthropicUpstreamResponse", 2004, answers, Inputs, input => _ = AnthropicUpstreamResponse.Translate(input, "m", 1, new ArrayBufferWriter<byte>()));
        var streams = new[]
        {
            Encoding.UTF8.GetBytes("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"
                + "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{}}}\n\n"
                + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\"\"}}\n\n"
                + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n"
                + "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":5}}\n\n"
                + "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"),
        };
        Mutator.Run("AnthropicUpstreamStream", 2005, streams, Inputs, input =>
        {
            var translator = new AnthropicUpstreamStream("m", 1, includeUsage: true);
            var output = new ArrayBufferWriter<byte>();
            Frames(input, frame => translator.OnFrame(frame, output));
            translator.OnEnd(output);
        }, StreamFailure);
    }

    [Fact]
    public void Gemini_AnswerStreamAndEmbeddings()
    {
        var answers = new[]
        {
            """{"candidates":[{"content":{"role":"model","parts":[{"text":"hi","thought":true},{"text":"yo"},{"functionCall":{"name":"f","args":{"a":1}}}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":4,"totalTokenCount":7,"cachedContentTokenCount":1,"thoughtsTokenCount":2},"modelVersion":"g"}"""u8.ToArray(),
        };
        Mutator.Run("GeminiUpstreamResponse", 2006, answers, Inputs, input => _ = GeminiUpstreamResponse.Translate(input, "m", 1, "gemini", new ArrayBufferWriter<byte>()));
        var streams = answers.Select(a => Encoding.UTF8.GetBytes("data: " + Encoding.UTF8.GetString(a) + "\r\n\r\n")).ToArray();
        Mutator.Run("GeminiUpstreamStream", 2007, streams, Inputs, input =>
        {
            var translator = new GeminiUpstreamStream("m", 1, includeUsage: true, "gemini");
            var output = new ArrayBufferWriter<byte>();
            Frames(input, frame => translator.OnFrame(frame, output));
            translator.OnEnd(output);
        }, StreamFailure);
        var embeddings = new[] { """{"embeddings":[{"values":[0.1,0.2]},{"values":[-1e-3,3]}]}"""u8.ToArray() };
        Mutator.Run("GeminiEmbeddings.TranslateResponse", 2008, embeddings, Inputs, input => _ = GeminiEmbeddings.TranslateResponse(input, "m", base64: false, new ArrayBufferWriter<byte>()));
        var requests = new[] { """{"model":"m","input":["a","b"],"dimensions":8,"encoding_format":"base64"}"""u8.ToArray() };
        Mutator.Run("GeminiEmbeddings.TranslateRequest", 2009, requests, Inputs, input => _ = GeminiEmbeddings.TranslateRequest(input, "m", new ArrayBufferWriter<byte>(), out _));
    }

    [Fact]
    public void Bedrock_EventStreamDecoderAndConverse()
    {
        var streams = new[]
        {
            AwsEventStreamDecoder.Encode([new(":event-type", "messageStart"), new(":content-type", "application/json"), new(":message-type", "event")], """{"role":"assistant"}"""u8)
                .Concat(AwsEventStreamDecoder.Encode([new(":event-type", "contentBlockDelta"), new(":message-type", "event")], """{"contentBlockIndex":0,"delta":{"text":"hi"}}"""u8))
                .Concat(AwsEventStreamDecoder.Encode([new(":event-type", "messageStop"), new(":message-type", "event")], """{"stopReason":"end_turn"}"""u8))
                .Concat(AwsEventStreamDecoder.Encode([new(":event-type", "metadata"), new(":message-type", "event")], """{"usage":{"inputTokens":1,"outputTokens":2,"totalTokens":3}}"""u8))
                .ToArray(),
            AwsEventStreamDecoder.Encode([new(":message-type", "exception"), new(":exception-type", "throttlingException")], """{"message":"slow down"}"""u8),
        };
        Mutator.Run("AwsEventStreamDecoder+BedrockConverseStream", 2010, streams, Inputs, input =>
        {
            var decoder = new AwsEventStreamDecoder();
            var translator = new BedrockConverseStream("m", 1, includeUsage: true);
            var output = new ArrayBufferWriter<byte>();
            // Arrives in two reads, split anywhere.
            int split = input.Length == 0 ? 0 : input[0] % (input.Length + 1);
            decoder.Append(input.AsSpan(0, split));
            while (decoder.TryRead(out var message)) translator.OnEvent(message, output);
            decoder.Append(input.AsSpan(split));
            while (decoder.TryRead(out var message)) translator.OnEvent(message, output);
        }, StreamFailure);
        // The checksums stop nearly every random change at the prelude: framed again with correct
        // checksums (a sender that frames nonsense correctly), the headers and lengths are reached too.
        Mutator.Run("AwsEventStreamDecoder, checksums recomputed", 2013, streams, Inputs, input =>
        {
            var decoder = new AwsEventStreamDecoder();
            decoder.Append(Reframe(input));
            while (decoder.TryRead(out _)) { }
        }, StreamFailure);
        var answers = new[]
        {
            """{"output":{"message":{"role":"assistant","content":[{"text":"hi"},{"reasoningContent":{"reasoningText":{"text":"t"}}},{"toolUse":{"toolUseId":"t","name":"f","input":{"a":1}}}]}},"stopReason":"tool_use","usage":{"inputTokens":1,"outputTokens":2,"totalTokens":3,"cacheReadInputTokens":1}}"""u8.ToArray(),
        };
        Mutator.Run("BedrockConverseResponse", 2011, answers, Inputs, input => _ = BedrockConverseResponse.Translate(input, "m", 1, new ArrayBufferWriter<byte>()));
    }

    /// <summary>The first message's prelude and message checksums made right for whatever its bytes now say.</summary>
    private static byte[] Reframe(byte[] input)
    {
        if (input.Length < 16) return input;
        var data = (byte[])input.Clone();
        // Keep the stated total inside the data half the time, so the message checksum is reached.
        if (data[0] % 2 == 0) System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(data, (uint)data.Length);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(8), System.IO.Hashing.Crc32.HashToUInt32(data.AsSpan(0, 8)));
        uint total = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(data);
        if (total >= 16 && total <= data.Length)
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan((int)total - 4), System.IO.Hashing.Crc32.HashToUInt32(data.AsSpan(0, (int)total - 4)));
        return data;
    }

    [Fact]
    public void ErrorMappers_AlwaysMakeAnError()
    {
        var bodies = new[]
        {
            """{"error":{"message":"bad \u0073k-key","type":"invalid_request_error","code":"context_length_exceeded"}}"""u8.ToArray(),
            """{"type":"error","error":{"type":"overloaded_error","message":"busy"}}"""u8.ToArray(),
            """[{"error":{"code":429,"message":"slow","status":"RESOURCE_EXHAUSTED","details":[{"retryDelay":"7s"}]}}]"""u8.ToArray(),
        };
        int[] statuses = [302, 400, 401, 429, 500];
        int n = 0;
        Mutator.Run("error mappers", 2012, bodies, Inputs, input =>
        {
            int status = statuses[n++ % statuses.Length];
            Assert.NotNull(OpenAIErrors.FromResponse("p", status, input, "sk-key", "1"));
            Assert.NotNull(AnthropicUpstreamErrors.FromResponse("p", status, input, "sk-key", null));
            Assert.NotNull(GeminiUpstreamErrors.FromResponse("p", status, input, "sk-key"));
            Assert.NotNull(BedrockErrors.FromResponse("p", status, input, "ValidationException", "secret", null));
        });
    }

    [Fact]
    public void GeminiInbound_RequestAnswerAndStream()
    {
        var requests = new[]
        {
            """{"systemInstruction":{"parts":[{"text":"s"}]},"contents":[{"role":"user","parts":[{"text":"a"},{"inlineData":{"mimeType":"image/png","data":"iVBOR"}}]},{"role":"model","parts":[{"text":"t","thought":true},{"functionCall":{"id":"c1","name":"f","args":{"a":1}},"thoughtSignature":"c2ln"}]},{"role":"user","parts":[{"functionResponse":{"id":"c1","name":"f","response":{"r":2}}}]}],"tools":[{"functionDeclarations":[{"name":"f","parameters":{"type":"OBJECT","properties":{"a":{"type":"INTEGER","nullable":true}},"required":["a"]}}]}],"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["f"]}},"generationConfig":{"maxOutputTokens":16,"temperature":0.5,"stopSequences":["x"],"responseMimeType":"application/json","responseSchema":{"type":"OBJECT"},"topK":3}}"""u8.ToArray(),
        };
        Mutator.Run("GeminiRequestTranslator", 2013, requests, Inputs, input =>
            _ = GeminiRequestTranslator.Translate(input, "m", stream: true, new ArrayBufferWriter<byte>(), []));
        var answers = new[] { """{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi","reasoning_content":"r","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},"finish_reason":"length"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"completion_tokens_details":{"reasoning_tokens":1}}}"""u8.ToArray() };
        Mutator.Run("GeminiResponseTranslator", 2014, answers, Inputs, input => _ = GeminiResponseTranslator.Translate(input, "m", new ArrayBufferWriter<byte>()));
        var streams = new[] { Encoding.UTF8.GetBytes("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"hi\",\"reasoning_content\":\"r\"}}]}\n\n"
                + "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"t\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}}]}}]}\n\n"
                + "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}\n\ndata: [DONE]\n\n") };
        Mutator.Run("GeminiStreamTranslator", 2015, streams, Inputs, input =>
        {
            var translator = new GeminiStreamTranslator("m");
            var output = new ArrayBufferWriter<byte>();
            Frames(input, frame => translator.OnFrame(frame, output));
        }, StreamFailure);
    }

    [Fact]
    public void ResponsesInbound_RequestAnswerAndStream()
    {
        var requests = new[]
        {
            """{"model":"m","instructions":"s","input":[{"role":"developer","content":"d"},{"type":"message","role":"user","content":[{"type":"input_text","text":"a"},{"type":"input_image","image_url":"https://e/a.png"}]},{"type":"reasoning","id":"r","summary":[]},{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c","output":[{"type":"input_text","text":"r"}]}],"tools":[{"type":"function","name":"f","parameters":{"type":"object"},"strict":true}],"tool_choice":{"type":"function","name":"f"},"text":{"format":{"type":"json_schema","name":"x","schema":{"type":"object"}}},"reasoning":{"effort":"low","summary":"auto"},"max_output_tokens":16,"stream":true,"store":false}"""u8.ToArray(),
        };
        Mutator.Run("ResponsesRequestTranslator", 2016, requests, Inputs, input =>
            _ = ResponsesRequestTranslator.Translate(input, "m", new ArrayBufferWriter<byte>(), []));
        var answers = new[] { """{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi","reasoning_content":"r","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},"finish_reason":"length"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"completion_tokens_details":{"reasoning_tokens":1}}}"""u8.ToArray() };
        Mutator.Run("ResponsesAnswer", 2017, answers, Inputs, input => _ = ResponsesAnswer.Translate(input, "m", new ArrayBufferWriter<byte>()));
        var streams = new[] { Encoding.UTF8.GetBytes("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"hi\",\"reasoning_content\":\"r\"}}]}\n\n"
                + "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"t\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}}]}}]}\n\n"
                + "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}\n\ndata: [DONE]\n\n") };
        Mutator.Run("ResponsesStreamTranslator", 2018, streams, Inputs, input =>
        {
            var translator = new ResponsesStreamTranslator("m");
            var output = new ArrayBufferWriter<byte>();
            Frames(input, frame => translator.OnFrame(frame, output));
        }, StreamFailure);
    }
}
