using System.Buffers;
using Gateway.Core.Sse;

namespace Gateway.Server.Pipeline.Dialects;

/// <summary>
/// A dialect's own events from a provider that speaks it, forwarded byte for byte: the dialect only
/// watches them for the end of the stream and for its usage.
/// </summary>
internal abstract class PassthroughEvents : ISseFrameOutput
{
    /// <summary>The stream's proper end was seen (or the provider's own error event, which also ends it).</summary>
    public bool Completed { get; protected set; }

    public TokenUsage? Usage { get; protected set; }

    public bool OnFrame(ReadOnlySpan<byte> frame, IBufferWriter<byte> client)
    {
        Watch(frame);
        client.Write(frame);
        return true;
    }

    // A last event without its blank line is forwarded with one; only its being the end makes the stream whole.
    public bool OnTrailing(ReadOnlySpan<byte> rest, IBufferWriter<byte> client)
    {
        OnFrame(rest, client);
        client.Write(BlankLine);
        return Completed;
    }

    /// <summary>What ends an event in this dialect's streams.</summary>
    protected virtual ReadOnlySpan<byte> BlankLine => "\n\n"u8;

    /// <summary>Looks at one event (its blank line included) before it goes to the client.</summary>
    protected abstract void Watch(ReadOnlySpan<byte> frame);

    /// <summary>The event's <c>data:</c> payload, trimmed; empty when it has none.</summary>
    protected static ReadOnlySpan<byte> Data(ReadOnlySpan<byte> frame)
    {
        int data = frame.IndexOf("data:"u8);
        return data < 0 ? default : frame[(data + 5)..].Trim(" \r\n"u8);
    }
}
