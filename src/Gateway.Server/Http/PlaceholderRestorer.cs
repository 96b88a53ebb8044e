using System.Buffers;
using System.Text.Json;
using Gateway.Core.Protocol;
using Gateway.Policies.Pii;
using Gateway.Providers.Http;

namespace Gateway.Server.Http;

/// <summary>
/// Puts a request's PII placeholders back into its streamed answer, chunk by chunk. A placeholder
/// can arrive split over two chunks (<c>[EMA</c> then <c>IL_1]</c>): only the shortest tail that could
/// still become one is held back, and it goes out with the next chunk or the finish.
/// Used only when the request's policies handed out placeholders; other streams stay zero-copy.
/// </summary>
internal sealed class PlaceholderRestorer(PiiVault vault) : IStreamTranslator
{
    private string _pending = "";
    private ChatCompletionChunk? _last;

    public bool Completed { get; private set; }
    public string? Error => null;

    public void OnFrame(ReadOnlySpan<byte> frame, IBufferWriter<byte> output)
    {
        if (!frame.StartsWith("data:"u8))
        {
            output.Write(frame);
            return;
        }
        var payload = frame[5..].Trim(" \r\n"u8);
        if (payload.SequenceEqual("[DONE]"u8))
        {
            Flush(output);
            output.Write("data: [DONE]\n\n"u8);
            Completed = true;
            return;
        }
        var chunk = JsonSerializer.Deserialize(payload, ProtocolJson.Default.ChatCompletionChunk) ?? throw new JsonException("a stream chunk must be a JSON object");
        _last = chunk;
        if (chunk.Choices.Count > 0 && chunk.Choices[0] is var choice)
        {
            if (choice.Delta.Content is { } content)
            {
                string restored = vault.Restore(_pending + content);
                int tail = choice.FinishReason is null ? vault.PendingTail(restored) : 0;
                choice.Delta.Content = restored[..^tail];
                _pending = restored[^tail..];
            }
            else if (choice.FinishReason is not null && _pending.Length > 0)
            {
                choice.Delta.Content = vault.Restore(_pending);
                _pending = "";
            }
            foreach (var call in choice.Delta.ToolCalls ?? [])
                if (call.Function?.Arguments is { } arguments) call.Function.Arguments = vault.Restore(arguments);
        }
        Write(chunk, output);
    }

    public void OnEnd(IBufferWriter<byte> output) => Flush(output);

    /// <summary>A held-back tail that never became a placeholder is the model's own text: it goes out as is.</summary>
    private void Flush(IBufferWriter<byte> output)
    {
        if (_pending.Length == 0 || _last is null) return;
        Write(new ChatCompletionChunk
        {
            Id = _last.Id, Created = _last.Created, Model = _last.Model,
            Choices = [new ChunkChoice { Delta = new ChatDelta { Content = vault.Restore(_pending) } }],
        }, output);
        _pending = "";
    }

    private static void Write(ChatCompletionChunk chunk, IBufferWriter<byte> output)
    {
        output.Write("data: "u8);
        using (var w = new Utf8JsonWriter(output)) JsonSerializer.Serialize(w, chunk, ProtocolJson.Default.ChatCompletionChunk);
        output.Write("\n\n"u8);
    }
}
