using System.Buffers;
using System.Text.Json;
using Gateway.Core.Protocol;

namespace Gateway.Server.Http;

/// <summary>
/// A policy's <c>{ respond: {...} }</c> as the answer a client expects: a chat completion (the
/// fields the policy left out filled in), or for a stream the chunks that completion makes.
/// </summary>
internal static class PolicyAnswer
{
    /// <summary>The completion the policy wrote, completed; null when it is not one.</summary>
    public static ChatCompletion? Read(ReadOnlySpan<byte> json, string model, long created)
    {
        var completion = ProtocolReader.ReadCompletion(json);
        if (completion is not { Choices.Count: > 0 }) return null;
        if (completion.Id.Length == 0) completion.Id = "chatcmpl-policy-" + Guid.NewGuid().ToString("N");
        if (completion.Model.Length == 0) completion.Model = model;
        if (completion.Created == 0) completion.Created = created;
        completion.Object = "chat.completion";
        foreach (var choice in completion.Choices)
        {
            choice.Message.Role ??= ChatRoles.Assistant;
            choice.FinishReason ??= choice.Message.ToolCalls is { Count: > 0 } ? FinishReasons.ToolCalls : FinishReasons.Stop;
        }
        return completion;
    }

    public static void WriteJson(ChatCompletion completion, IBufferWriter<byte> output)
    {
        using var w = new Utf8JsonWriter(output);
        JsonSerializer.Serialize(w, completion, ProtocolJson.Default.ChatCompletion);
    }

    /// <summary>The completion as an OpenAI event stream: the message in one chunk, the finish, the usage when asked, <c>[DONE]</c>.</summary>
    public static void WriteChunks(ChatCompletion completion, bool includeUsage, IBufferWriter<byte> output)
    {
        var choice = completion.Choices[0];
        var message = choice.Message;
        Frame(output, Chunk(completion, new ChatDelta
        {
            Role = ChatRoles.Assistant,
            Content = message.Text,
            ReasoningContent = message.ReasoningContent,
            ToolCalls = message.ToolCalls?.Select((call, i) => new ToolCallDelta
            {
                Index = i, Id = call.Id, Type = call.Type, Function = new FunctionCallDelta { Name = call.Function.Name, Arguments = call.Function.Arguments },
            }).ToList(),
        }, null));
        Frame(output, Chunk(completion, new ChatDelta(), choice.FinishReason));
        if (includeUsage)
            Frame(output, new ChatCompletionChunk { Id = completion.Id, Created = completion.Created, Model = completion.Model, Usage = completion.Usage ?? Usage.Of(0, 0) });
        output.Write("data: [DONE]\n\n"u8);
    }

    private static ChatCompletionChunk Chunk(ChatCompletion completion, ChatDelta delta, string? finish) => new()
    {
        Id = completion.Id,
        Created = completion.Created,
        Model = completion.Model,
        Choices = [new ChunkChoice { Delta = delta, FinishReason = finish }],
    };

    private static void Frame(IBufferWriter<byte> output, ChatCompletionChunk chunk)
    {
        output.Write("data: "u8);
        using (var w = new Utf8JsonWriter(output)) JsonSerializer.Serialize(w, chunk, ProtocolJson.Default.ChatCompletionChunk);
        output.Write("\n\n"u8);
    }
}
