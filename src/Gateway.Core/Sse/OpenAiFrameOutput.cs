using System.Buffers;

namespace Gateway.Core.Sse;

/// <summary>
/// OpenAI chunks to an OpenAI client: every frame goes out untouched, except the usage-only chunk the
/// gateway asked for on the client's behalf (dropped when the client did not ask for it). A byte search
/// rules out almost every frame; only a frame with usage is parsed.
/// </summary>
public sealed class OpenAiFrameOutput : ISseFrameOutput
{
    private bool _stripUsageChunk;

    public OpenAiFrameOutput(bool stripUsageChunk) => _stripUsageChunk = stripUsageChunk;

    public bool Completed { get; private set; }

    public TokenUsage? Usage { get; private set; }

    /// <summary>Ready for another stream (the object is kept with a pooled request).</summary>
    public OpenAiFrameOutput Reset(bool stripUsageChunk)
    {
        _stripUsageChunk = stripUsageChunk;
        Completed = false;
        Usage = null;
        return this;
    }

    public bool OnFrame(ReadOnlySpan<byte> frame, IBufferWriter<byte> client)
    {
        var kind = OpenAiFrameInspector.Inspect(frame, out var usage);
        if (kind is OpenAiFrameKind.UsageOnly or OpenAiFrameKind.ChunkWithUsage)
        {
            Usage = usage;
            if (kind == OpenAiFrameKind.UsageOnly && _stripUsageChunk) return false;
        }
        else if (kind == OpenAiFrameKind.Done)
        {
            Completed = true;
        }
        client.Write(frame);
        return true;
    }

    public bool OnTrailing(ReadOnlySpan<byte> rest, IBufferWriter<byte> client)
    {
        if (OpenAiFrameInspector.Inspect(rest, out _) != OpenAiFrameKind.Done) return false;
        client.Write(rest);
        client.Write("\n\n"u8);
        Completed = true;
        return true;
    }
}
