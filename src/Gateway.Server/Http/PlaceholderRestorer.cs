using System.Buffers;
using Gateway.Core.Protocol;
using Gateway.Policies.Pii;

namespace Gateway.Server.Http;

/// <summary>
/// Puts a request's PII placeholders back into its streamed answer, chunk by chunk. A placeholder
/// can arrive split over two chunks (<c>[EMA</c> then <c>IL_1]</c>): only the shortest tail that could
/// still become one is held back, and it goes out with the next chunk or the finish.
/// Used only when the request's policies handed out placeholders; other streams stay zero-copy.
/// </summary>
internal sealed class PlaceholderRestorer(PiiVault vault) : ChunkTransform
{
    private string _pending = "";

    protected override void OnChunk(ChatCompletionChunk chunk, IBufferWriter<byte> output)
    {
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

    /// <summary>A held-back tail that never became a placeholder is the model's own text: it goes out as is.</summary>
    protected override void OnDone(IBufferWriter<byte> output) => Flush(output);

    public override void OnEnd(IBufferWriter<byte> output) => Flush(output);

    private void Flush(IBufferWriter<byte> output)
    {
        if (_pending.Length == 0 || Last is null) return;
        Write(ContentChunk(vault.Restore(_pending)), output);
        _pending = "";
    }
}
