using System.Text;
using System.Text.Json;
using Gateway.Core.Protocol;

namespace Gateway.Core.Caching;

/// <summary>
/// A canonical stream's chunks gathered into the <c>chat.completion</c> they add up to: each choice's
/// text, thinking, refusal and tool calls (fragments joined by index), its finish, and the usage.
/// Stops gathering (and says so) past a size, so a huge stream costs no more than the bound.
/// </summary>
public sealed class CompletionAccumulator(int maxBytes)
{
    private sealed class Choice
    {
        public readonly StringBuilder Text = new(), Reasoning = new(), Refusal = new();
        public readonly ToolCallFragments Calls = new();
        public string? Finish;
    }

    private readonly SortedDictionary<int, Choice> _choices = [];
    private string _id = "", _model = "";
    private long _created;
    private string? _fingerprint;
    private Usage? _usage;
    private long _bytes;

    /// <summary>The stream outgrew the bound, or a chunk could not be read: there is nothing to store.</summary>
    public bool Abandoned { get; private set; }

    /// <summary>Adds one frame (<c>data: {chunk}</c>, a comment, or <c>[DONE]</c>).</summary>
    public void Add(ReadOnlySpan<byte> frame)
    {
        if (Abandoned || !frame.StartsWith("data:"u8)) return;
        var payload = frame[5..].Trim(" \r\n"u8);
        if (payload.SequenceEqual("[DONE]"u8)) return;
        _bytes += payload.Length;
        if (_bytes > maxBytes)
        {
            Abandon();
            return;
        }
        ChatCompletionChunk? chunk;
        try
        {
            chunk = JsonSerializer.Deserialize(payload, ProtocolJson.Default.ChatCompletionChunk);
        }
        catch (JsonException)
        {
            chunk = null;
        }
        if (chunk is null)
        {
            Abandon();
            return;
        }
        if (_id.Length == 0) (_id, _model, _created) = (chunk.Id, chunk.Model, chunk.Created);
        _fingerprint ??= chunk.Extra is { } extra && extra.TryGetValue("system_fingerprint", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;
        if (chunk.Usage is { } usage) _usage = usage;
        foreach (var part in chunk.Choices)
        {
            if (!_choices.TryGetValue(part.Index, out var choice)) _choices[part.Index] = choice = new Choice();
            var delta = part.Delta;
            choice.Text.Append(delta.Content);
            choice.Reasoning.Append(delta.ReasoningContent);
            choice.Refusal.Append(delta.Refusal);
            choice.Calls.Add(delta.ToolCalls);
            if (part.FinishReason is { } finish) choice.Finish = finish;
        }
    }

    /// <summary>The completion the chunks add up to; null when abandoned or when no choice finished.</summary>
    public ChatCompletion? Build()
    {
        if (Abandoned || _choices.Count == 0 || _choices.Values.Any(c => c.Finish is null)) return null;
        var completion = new ChatCompletion { Id = _id, Created = _created, Model = _model, Usage = _usage, SystemFingerprint = _fingerprint };
        foreach (var (index, choice) in _choices)
        {
            var calls = choice.Calls.Count == 0 ? null : choice.Calls.Calls.ToList();
            var message = ChatMessage.FromAssistant(choice.Text.ToString(), choice.Reasoning.Length > 0 ? choice.Reasoning.ToString() : null, calls);
            if (choice.Refusal.Length > 0) message.Refusal = choice.Refusal.ToString();
            completion.Choices.Add(new ChatChoice { Index = index, Message = message, FinishReason = choice.Finish });
        }
        return completion;
    }

    private void Abandon()
    {
        Abandoned = true;
        _choices.Clear();
    }
}
