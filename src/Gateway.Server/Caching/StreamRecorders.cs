using System.Buffers;
using System.Text.Json;
using Gateway.Core.Caching;
using Gateway.Core.Errors;
using Gateway.Core.Protocol;
using Gateway.Core.Sse;

namespace Gateway.Server.Caching;

/// <summary>
/// A stage of a canonical stream that lets every frame through as it is and gathers the completion the
/// frames add up to, for the cache. It sits before the policies' stages: the cache keeps what the
/// provider said, and a hit goes through the policies again like a fresh answer.
/// </summary>
internal sealed class CompletionRecorder(int maxBytes) : IStreamTranslator
{
    private readonly CompletionAccumulator _answer = new(maxBytes);

    public bool Completed { get; private set; }

    public string? Error => null;

    public void OnFrame(ReadOnlySpan<byte> frame, IBufferWriter<byte> output)
    {
        if (OpenAiFrameInspector.Inspect(frame, out _) == OpenAiFrameKind.Done) Completed = true;
        else _answer.Add(frame);
        output.Write(frame);
    }

    public void OnEnd(IBufferWriter<byte> output) { }

    /// <summary>The completion as JSON, when the stream reached <c>[DONE]</c> whole and within the bound; else null.</summary>
    public byte[]? Answer()
    {
        if (!Completed || _answer.Build() is not { } completion) return null;
        return JsonSerializer.SerializeToUtf8Bytes(completion, ProtocolJson.Default.ChatCompletion);
    }
}

/// <summary>
/// Around a dialect's own stream from a provider that speaks it (passed through untouched): the events
/// as they came, kept for the cache up to a bound, and served again as they are.
/// </summary>
internal sealed class EventStreamRecorder(ISseFrameOutput inner, int maxBytes) : ISseFrameOutput
{
    private readonly ArrayBufferWriter<byte> _events = new(4096);
    private bool _abandoned;

    public bool Completed => inner.Completed;

    public TokenUsage? Usage => inner.Usage;

    public GatewayError? Failure => inner.Failure;

    public void Translating(IStreamTranslator upstream) => inner.Translating(upstream);

    public bool OnFrame(ReadOnlySpan<byte> frame, IBufferWriter<byte> client)
    {
        Keep(frame);
        return inner.OnFrame(frame, client);
    }

    public bool OnTrailing(ReadOnlySpan<byte> rest, IBufferWriter<byte> client)
    {
        bool ended = inner.OnTrailing(rest, client);
        if (ended)
        {
            Keep(rest);
            Keep("\n\n"u8);
        }
        return ended;
    }

    public bool OnEnd(IBufferWriter<byte> client) => inner.OnEnd(client);

    /// <summary>The events, when the stream reached its end whole and within the bound; else null.</summary>
    public ReadOnlyMemory<byte>? Answer() => Completed && !_abandoned && Failure is null ? _events.WrittenMemory : null;

    private void Keep(ReadOnlySpan<byte> bytes)
    {
        if (_abandoned) return;
        if (_events.WrittenCount + bytes.Length > maxBytes)
        {
            _abandoned = true;
            _events.Clear();
            return;
        }
        _events.Write(bytes);
    }
}
