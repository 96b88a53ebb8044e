namespace Gateway.Core.Sse;

public enum OpenAiFrameKind
{
    /// <summary>A chunk without usage (most frames), a comment, or anything we do not read.</summary>
    Other,
    /// <summary><c>data: [DONE]</c>, the normal end of an OpenAI stream.</summary>
    Done,
    /// <summary>The dedicated usage chunk: <c>"choices": []</c> and a usage object.</summary>
    UsageOnly,
    /// <summary>A chunk with choices that also carries usage (some OpenAI-compatible servers).</summary>
    ChunkWithUsage,
}
