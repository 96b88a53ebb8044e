using System.Buffers;
using System.Text.Json;
using Gateway.Core.Protocol;
using Gateway.Core.Errors;
using Gateway.Core.Sse;

namespace Gateway.Server.Http;

/// <summary>
/// A transform of an OpenAI chunk stream that needs to read the chunks: comments pass as they are,
/// each chunk is read into the canonical type, and <c>[DONE]</c> lets the transform flush what it
/// held back before the stream ends.
/// </summary>
internal abstract class ChunkTransform : IStreamTranslator
{
    /// <summary>
    /// For a transform that must wait for its work (a policy call): the same steps, awaited, on each
    /// chunk's JSON as it came. The transform reads it into the canonical type only when it needs to,
    /// and may pass the frame on as it is.
    /// </summary>
    internal abstract class Asynchronous : ChunkTransform, IAsyncStreamTranslator
    {
        public async ValueTask OnFrameAsync(ReadOnlyMemory<byte> frame, IBufferWriter<byte> output)
        {
            if (Failure is not null || Pass(frame.Span, output, out var payload)) return;
            if (IsDone(frame.Span[payload]))
            {
                await OnDoneAsync(output).ConfigureAwait(false);
                Done(output);
                return;
            }
            await OnPayloadAsync(frame[payload], frame, output).ConfigureAwait(false);
        }

        /// <param name="payload">The chunk's JSON, as the upstream sent it.</param>
        /// <param name="frame">The whole frame: what goes out when the chunk is passed on unchanged.</param>
        protected abstract ValueTask OnPayloadAsync(ReadOnlyMemory<byte> payload, ReadOnlyMemory<byte> frame, IBufferWriter<byte> output);

        protected abstract ValueTask OnDoneAsync(IBufferWriter<byte> output);

        protected sealed override void OnChunk(ChatCompletionChunk chunk, IBufferWriter<byte> output) =>
            throw new NotSupportedException("an asynchronous chunk transform is read through OnFrameAsync");

        protected sealed override void OnDone(IBufferWriter<byte> output) =>
            throw new NotSupportedException("an asynchronous chunk transform is read through OnFrameAsync");
    }

    public bool Completed { get; private set; }
    public string? Error => null;

    /// <summary>Set when this transform stopped the stream; the chain ends it with this error.</summary>
    public GatewayError? Failure { get; protected set; }

    /// <summary>The last chunk seen: its id, created and model serve a chunk written at the end.</summary>
    protected ChatCompletionChunk? Last { get; set; }

    /// <summary>A chunk's JSON in the canonical type.</summary>
    /// <exception cref="JsonException">It is not a JSON object.</exception>
    protected static ChatCompletionChunk Read(ReadOnlySpan<byte> payload) =>
        JsonSerializer.Deserialize(payload, ProtocolJson.Default.ChatCompletionChunk) ?? throw new JsonException("a stream chunk must be a JSON object");

    public void OnFrame(ReadOnlySpan<byte> frame, IBufferWriter<byte> output)
    {
        if (Failure is not null || Pass(frame, output, out var payload)) return;
        if (IsDone(frame[payload]))
        {
            OnDone(output);
            Done(output);
            return;
        }
        var chunk = Read(frame[payload]);
        Last = chunk;
        OnChunk(chunk, output);
    }

    /// <returns>True when the frame went out as it is (not data: a comment); else where its payload (a chunk's JSON, or <c>[DONE]</c>) is.</returns>
    private static bool Pass(ReadOnlySpan<byte> frame, IBufferWriter<byte> output, out Range payload)
    {
        payload = default;
        if (!frame.StartsWith("data:"u8))
        {
            output.Write(frame);
            return true;
        }
        var rest = frame[5..];
        int start = 5 + rest.Length - rest.TrimStart(" \r\n"u8).Length;
        payload = start..Math.Max(start, 5 + rest.TrimEnd(" \r\n"u8).Length);
        return false;
    }

    private static bool IsDone(ReadOnlySpan<byte> payload) => payload.SequenceEqual("[DONE]"u8);

    /// <summary>The upstream's end, passed on: nothing follows it.</summary>
    private void Done(IBufferWriter<byte> output)
    {
        output.Write("data: [DONE]\n\n"u8);
        Completed = true;
    }

    /// <summary>No <c>[DONE]</c>: the relay reports a cut-off stream; what was held back is not sent.</summary>
    public virtual void OnEnd(IBufferWriter<byte> output)
    {
    }

    protected abstract void OnChunk(ChatCompletionChunk chunk, IBufferWriter<byte> output);

    /// <summary>The upstream finished: anything held back goes out now.</summary>
    protected abstract void OnDone(IBufferWriter<byte> output);

    /// <summary>A chunk with only content, for what was held back, carrying the stream's id and model.</summary>
    protected ChatCompletionChunk ContentChunk(string content) => new()
    {
        Id = Last?.Id ?? "", Created = Last?.Created ?? 0, Model = Last?.Model ?? "",
        Choices = [new ChunkChoice { Delta = new ChatDelta { Content = content } }],
    };

    protected static void Write(ChatCompletionChunk chunk, IBufferWriter<byte> output)
    {
        output.Write("data: "u8);
        using (var w = new Utf8JsonWriter(output)) JsonSerializer.Serialize(w, chunk, ProtocolJson.Default.ChatCompletionChunk);
        output.Write("\n\n"u8);
    }
}
