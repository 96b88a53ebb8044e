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

    /// <summary>The completion as an OpenAI event stream (see <see cref="CompletionChunks"/>).</summary>
    public static void WriteChunks(ChatCompletion completion, bool includeUsage, IBufferWriter<byte> output) =>
        CompletionChunks.Write(completion, includeUsage, output);
}
