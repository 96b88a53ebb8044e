using System.Buffers;
using System.Text.Json;

namespace Gateway.Core.Protocol;

/// <summary>
/// A whole <c>chat.completion</c> as the OpenAI event stream that makes it: per choice one chunk with
/// the message (text, thinking, refusal, tool calls) and one with its finish, then the usage, then
/// <c>[DONE]</c>. The deltas concatenate to the completion. For answers that were not streamed by a
/// provider: a policy's, or one served from the cache.
/// </summary>
public static class CompletionChunks
{
    public static void Write(ChatCompletion completion, bool includeUsage, IBufferWriter<byte> output)
    {
        foreach (var choice in completion.Choices)
        {
            var message = choice.Message;
            Frame(output, Chunk(completion, choice.Index, new ChatDelta
            {
                Role = ChatRoles.Assistant,
                Content = message.Text,
                ReasoningContent = message.ReasoningContent,
                Refusal = message.Refusal,
                ToolCalls = message.ToolCalls?.Select((call, i) => new ToolCallDelta
                {
                    Index = i, Id = call.Id, Type = call.Type, Function = new FunctionCallDelta { Name = call.Function.Name, Arguments = call.Function.Arguments },
                }).ToList(),
            }, null));
            Frame(output, Chunk(completion, choice.Index, new ChatDelta(), choice.FinishReason));
        }
        if (includeUsage)
            Frame(output, new ChatCompletionChunk { Id = completion.Id, Created = completion.Created, Model = completion.Model, Usage = completion.Usage ?? Usage.Of(0, 0) });
        output.Write("data: [DONE]\n\n"u8);
    }

    private static ChatCompletionChunk Chunk(ChatCompletion completion, int index, ChatDelta delta, string? finish) => new()
    {
        Id = completion.Id,
        Created = completion.Created,
        Model = completion.Model,
        Choices = [new ChunkChoice { Index = index, Delta = delta, FinishReason = finish }],
    };

    private static void Frame(IBufferWriter<byte> output, ChatCompletionChunk chunk)
    {
        output.Write("data: "u8);
        using (var w = new Utf8JsonWriter(output)) JsonSerializer.Serialize(w, chunk, ProtocolJson.Default.ChatCompletionChunk);
        output.Write("\n\n"u8);
    }
}
