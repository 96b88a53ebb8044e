using Gateway.Core.Json;
using Gateway.Core.Sse;

namespace Gateway.Server.Pipeline.Dialects;

/// <summary>
/// OpenAI Chat Completions (<c>/v1/chat/completions</c>): the canonical form itself. Requests go out
/// with only the model rewritten, answers and stream frames come back untouched (the usage chunk the
/// gateway asked for dropped when the client did not).
/// </summary>
internal sealed class ChatDialect : InboundDialect
{
    public override string Name => "chat";

    public override RequestKind Kind => RequestKind.ChatCompletions;

    public override ISseFrameOutput StreamOutput(GatewayRequest request, string model, bool clientAskedUsage, ReadOnlyMemory<byte> canonicalRequest) =>
        request.OpenAiOutput.Reset(stripUsageChunk: !clientAskedUsage);
}

/// <summary>OpenAI embeddings (<c>/v1/embeddings</c>): canonical, never streamed.</summary>
internal sealed class EmbeddingsDialect : InboundDialect
{
    public override string Name => "embeddings";

    public override RequestKind Kind => RequestKind.Embeddings;

    public override ISseFrameOutput StreamOutput(GatewayRequest request, string model, bool clientAskedUsage, ReadOnlyMemory<byte> canonicalRequest) =>
        request.OpenAiOutput.Reset(stripUsageChunk: !clientAskedUsage);
}
