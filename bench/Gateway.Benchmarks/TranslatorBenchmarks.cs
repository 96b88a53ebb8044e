using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Gateway.Core.Protocol;
using Gateway.Providers.Anthropic;
using Gateway.Providers.Gemini;

namespace Gateway.Benchmarks;

/// <summary>
/// The cost of translation against the passthrough rewrite (RequestPathBenchmarks.RewriteModel):
/// one request, one answer and one stream frame per adapter, on the bench harness's request.
/// </summary>
[MemoryDiagnoser]
public class TranslatorBenchmarks
{
    private byte[] _openAiRequest = [];
    private byte[] _anthropicRequest = [];
    private byte[] _openAiAnswer = [];
    private byte[] _anthropicAnswer = [];
    private byte[] _geminiAnswer = [];
    private readonly byte[] _anthropicFrame = Encoding.UTF8.GetBytes(
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Here is a concise summary\"}}\n\n");
    private readonly byte[] _geminiFrame = Encoding.UTF8.GetBytes(
        "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Here is a concise summary\"}]}}],\"usageMetadata\":{\"promptTokenCount\":120,\"candidatesTokenCount\":5},\"responseId\":\"r\"}\r\n\r\n");
    private readonly byte[] _openAiFrame = Encoding.UTF8.GetBytes(
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Here is a concise summary\"},\"finish_reason\":null}]}\n\n");
    private readonly ArrayBufferWriter<byte> _output = new(8192);
    private AnthropicUpstreamStream _anthropicStream = null!;
    private GeminiUpstreamStream _geminiStream = null!;
    private AnthropicStreamTranslator _messagesStream = null!;

    [GlobalSetup]
    public void Setup()
    {
        _openAiRequest = BenchData.ChatRequest;
        _anthropicRequest = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(_openAiRequest)
            .Replace("\"stream\":false", "\"max_tokens\":256", StringComparison.Ordinal)
            .Replace("{\"role\":\"system\",\"content\":\"You are a helpful assistant.\"},", "", StringComparison.Ordinal));
        _openAiAnswer = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "data", "chat.completion.json"));
        _anthropicAnswer = Encoding.UTF8.GetBytes("{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\",\"content\":[{\"type\":\"text\",\"text\":\"Here is a concise summary of the evaluation in two sentences for the report.\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":120,\"output_tokens\":20}}");
        _geminiAnswer = Encoding.UTF8.GetBytes("{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Here is a concise summary of the evaluation in two sentences for the report.\"}]},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":120,\"candidatesTokenCount\":20,\"totalTokenCount\":140},\"responseId\":\"r\"}");
        _anthropicStream = new AnthropicUpstreamStream("anthropic/claude", 1, includeUsage: true);
        _anthropicStream.OnFrame(Encoding.UTF8.GetBytes("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_s\",\"usage\":{\"input_tokens\":12}}}\n\n"), _output);
        _geminiStream = new GeminiUpstreamStream("gemini/g", 1, includeUsage: true, "gemini");
        _geminiStream.OnFrame(_geminiFrame, _output);
        _messagesStream = new AnthropicStreamTranslator("openai/m");
        _messagesStream.OnFrame(_openAiFrame, _output);
    }

    [Benchmark]
    public int AnthropicRequest()
    {
        _output.ResetWrittenCount();
        ProtocolReader.ReadRequest(_openAiRequest, out var request);
        AnthropicUpstreamRequest.Translate(request, "claude-sonnet-4-5"u8, _output, []);
        return _output.WrittenCount;
    }

    [Benchmark]
    public int GeminiRequest()
    {
        _output.ResetWrittenCount();
        ProtocolReader.ReadRequest(_openAiRequest, out var request);
        GeminiUpstreamRequest.Translate(request, _output, []);
        return _output.WrittenCount;
    }

    [Benchmark]
    public int MessagesInboundRequest()
    {
        _output.ResetWrittenCount();
        AnthropicRequestTranslator.Translate(_anthropicRequest, "gpt-4o-mini", false, _output, []);
        return _output.WrittenCount;
    }

    [Benchmark]
    public int AnthropicAnswer()
    {
        _output.ResetWrittenCount();
        AnthropicUpstreamResponse.Translate(_anthropicAnswer, "anthropic/claude", 1, _output);
        return _output.WrittenCount;
    }

    [Benchmark]
    public int GeminiAnswer()
    {
        _output.ResetWrittenCount();
        GeminiUpstreamResponse.Translate(_geminiAnswer, "gemini/g", 1, "gemini", _output);
        return _output.WrittenCount;
    }

    [Benchmark]
    public int MessagesInboundAnswer()
    {
        _output.ResetWrittenCount();
        AnthropicResponseTranslator.Translate(_openAiAnswer, "openai/m", _output);
        return _output.WrittenCount;
    }

    [Benchmark]
    public int AnthropicStreamFrame()
    {
        _output.ResetWrittenCount();
        _anthropicStream.OnFrame(_anthropicFrame, _output);
        return _output.WrittenCount;
    }

    [Benchmark]
    public int GeminiStreamFrame()
    {
        _output.ResetWrittenCount();
        _geminiStream.OnFrame(_geminiFrame, _output);
        return _output.WrittenCount;
    }

    [Benchmark]
    public int MessagesInboundStreamFrame()
    {
        _output.ResetWrittenCount();
        _messagesStream.OnFrame(_openAiFrame, _output);
        return _output.WrittenCount;
    }
}
