using System.Buffers;
using System.Text.Json;
using Gateway.Core.Protocol;
using Gateway.Core.Sse;

namespace Gateway.Providers.Http;

/// <summary>
/// What every translator of canonical chunks into a dialect's events does alike: a frame is a
/// <c>data:</c> line (comments and keep-alives write nothing), <c>[DONE]</c> ends it, anything else is a
/// <c>chat.completion.chunk</c>; a chunk of the wrong shape is a malformed event, never an unhandled
/// exception. The dialect writes its events for each chunk and for the end.
/// </summary>
public abstract class CanonicalChunkTranslator : IDialectStreamTranslator
{
    /// <summary>The upstream's <c>[DONE]</c> was seen and the dialect's closing events written.</summary>
    public bool Completed { get; protected set; }

    /// <summary>The usage the canonical stream reported, as it came; null until it did.</summary>
    protected Usage? ReportedUsage { get; set; }

    public TokenUsage Usage => ReportedUsage?.ToTokenUsage() ?? default;

    /// <summary>Translates one upstream frame; returns whether anything was written.</summary>
    public bool OnFrame(ReadOnlySpan<byte> frame, IBufferWriter<byte> output)
    {
        try
        {
            if (!frame.StartsWith("data:"u8)) return false; // comments, keep-alives
            var payload = frame[5..].Trim(" \r\n"u8);
            return payload.SequenceEqual("[DONE]"u8) ? OnDone(output) : OnPayload(payload, output);
        }
        catch (Exception ex) when (ex is not JsonException && JsonShape.IsMismatch(ex))
        {
            throw JsonShape.MalformedEvent(ex);
        }
    }

    /// <summary>One chunk's JSON: read whole by default; a dialect may read a common shape faster.</summary>
    protected virtual bool OnPayload(ReadOnlySpan<byte> payload, IBufferWriter<byte> output) => OnChunk(ReadChunk(payload), output);

    protected static ChatCompletionChunk ReadChunk(ReadOnlySpan<byte> payload) =>
        JsonSerializer.Deserialize(payload, ProtocolJson.Default.ChatCompletionChunk) ?? throw new JsonException("a stream chunk must be a JSON object");

    protected abstract bool OnChunk(ChatCompletionChunk chunk, IBufferWriter<byte> output);

    /// <summary>The canonical <c>[DONE]</c>: the dialect's closing events (once).</summary>
    protected abstract bool OnDone(IBufferWriter<byte> output);
}
