using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Gateway.Core.Config;
using Gateway.Core.Errors;
using Gateway.Core.Providers;

namespace Gateway.Providers.Mock;

/// <summary>
/// The built-in provider that needs no key: <c>echo</c> answers with the last user text,
/// <c>lorem</c> with filler text, <c>embedding</c> with deterministic unit vectors. Answers in the
/// OpenAI wire format through the same relay as a real upstream, streams in <c>chunks</c> pieces
/// <c>chunkDelayMs</c> apart, and reports usage.
/// </summary>
internal sealed class MockProvider(ProviderConfig config, TimeProvider time) : IProvider
{
    public const string Echo = "echo";
    public const string Lorem = "lorem";
    public const string Embedding = "embedding";
    private const string LoremText =
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. " +
        "Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.";

    private static long s_sequence;

    public string Name => Config.Name;
    public ProviderConfig Config { get; } = config;

    public ValueTask<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<string>>([Echo, Embedding, Lorem]);

    public ValueTask<UpstreamResult> SendAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        string model = Encoding.UTF8.GetString(call.Model.Span);
        try
        {
            if (call.Operation == ProviderOperation.Embeddings)
            {
                if (model != Embedding) return Fail(NotFound(model, "embeddings", Embedding));
                return Ok(Json(MockWriter.Embeddings(model, MockRequest.ParseEmbeddings(call.Body.Span))));
            }
            if (model is not (Echo or Lorem)) return Fail(NotFound(model, "chat completions", $"{Echo}, {Lorem}"));

            var request = MockRequest.ParseChat(call.Body.Span);
            var (reply, finish) = Reply(model, request);
            string id = $"chatcmpl-mock-{Interlocked.Increment(ref s_sequence)}";
            long created = time.GetUtcNow().ToUnixTimeSeconds();
            if (!call.Stream)
                return Ok(Json(MockWriter.Completion(id, created, model, reply, finish, request.PromptTokens, MockTokens.Count(reply.Length))));

            var pipe = new Pipe();
            _ = ProduceStreamAsync(pipe.Writer, id, created, model, reply, finish, request, cancellationToken);
            return Ok(new UpstreamResponse(200, "text/event-stream", null, pipe.Reader.AsStream(), null));
        }
        catch (JsonException ex)
        {
            return Fail(GatewayError.BadRequest($"mock: cannot read the request: {ex.Message}"));
        }
    }

    private static (string Reply, string Finish) Reply(string model, MockRequest request)
    {
        string text = model == Lorem ? LoremText : request.LastUserText;
        if (request.MaxTokens is { } max && max >= 0 && text.Length > max * 4)
            return (SafeCut(text, max * 4), "length");
        return (text, "stop");
    }

    private async Task ProduceStreamAsync(PipeWriter writer, string id, long created, string model, string reply, string finish, MockRequest request, CancellationToken cancellationToken)
    {
        try
        {
            int chunks = Math.Max(1, Config.Chunks);
            var frame = new ArrayBufferWriter<byte>(512);
            if (!await EmitAsync(writer, frame, w => MockWriter.Chunk(w, id, created, model, role: true, content: "", finish: null), cancellationToken)) return;
            int at = 0;
            for (int i = 0; i < chunks; i++)
            {
                int end = i == chunks - 1 ? reply.Length : SafeIndex(reply, (int)((long)reply.Length * (i + 1) / chunks));
                string piece = reply[at..end];
                at = end;
                if (Config.ChunkDelay > TimeSpan.Zero) await Task.Delay(Config.ChunkDelay, time, cancellationToken).ConfigureAwait(false);
                if (piece.Length == 0 && i != chunks - 1) continue;
                if (!await EmitAsync(writer, frame, w => MockWriter.Chunk(w, id, created, model, role: false, content: piece, finish: null), cancellationToken)) return;
            }
            if (!await EmitAsync(writer, frame, w => MockWriter.Chunk(w, id, created, model, role: false, content: null, finish: finish), cancellationToken)) return;
            if (request.IncludeUsage)
            {
                int completion = MockTokens.Count(reply.Length);
                if (!await EmitAsync(writer, frame, w => MockWriter.UsageChunk(w, id, created, model, request.PromptTokens, completion), cancellationToken)) return;
            }
            writer.Write("data: [DONE]\n\n"u8);
            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            await writer.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The reader sees the failure as a broken upstream, as it would with a real one.
            await writer.CompleteAsync(ex is OperationCanceledException ? new IOException("mock stream cancelled", ex) : ex).ConfigureAwait(false);
        }
    }

    private static async ValueTask<bool> EmitAsync(PipeWriter writer, ArrayBufferWriter<byte> frame, Action<Utf8JsonWriter> write, CancellationToken cancellationToken)
    {
        frame.ResetWrittenCount();
        using (var json = new Utf8JsonWriter(frame)) write(json);
        writer.Write("data: "u8);
        writer.Write(frame.WrittenSpan);
        writer.Write("\n\n"u8);
        var result = await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        return !result.IsCompleted; // the reader went away: stop producing
    }

    private static GatewayError NotFound(string model, string operation, string available) =>
        new(404, "invalid_request_error", "model_not_found",
            $"The mock provider has no model '{model}' for {operation} (available: {available}).", ErrorSource.Upstream);

    private static ValueTask<UpstreamResult> Ok(UpstreamResponse response) => ValueTask.FromResult(UpstreamResult.Ok(response));
    private static ValueTask<UpstreamResult> Fail(GatewayError error) => ValueTask.FromResult(UpstreamResult.Fail(error));

    private static UpstreamResponse Json(byte[] body) =>
        new(200, "application/json", body.Length, new MemoryStream(body, writable: false), null);

    private static string SafeCut(string text, int length) => text[..SafeIndex(text, length)];

    // Never split a surrogate pair between two chunks.
    private static int SafeIndex(string text, int index) =>
        index > 0 && index < text.Length && char.IsLowSurrogate(text[index]) ? index - 1 : index;
}
