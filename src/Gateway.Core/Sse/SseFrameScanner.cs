namespace Gateway.Core.Sse;

/// <summary>
/// Finds SSE event boundaries (a blank line) in raw bytes. Lines may end in CRLF, LF or CR
/// (WHATWG SSE); Gemini uses CRLF, OpenAI LF. The scanner never copies: it only measures.
/// </summary>
public static class SseFrameScanner
{
    /// <summary>
    /// Length of the first complete frame in <paramref name="data"/>, delimiter included, or -1 when
    /// more bytes are needed. A CR at the very end of <paramref name="data"/> waits for the next byte
    /// (it may be the first half of a CRLF) unless <paramref name="isFinal"/>.
    /// </summary>
    public static int FindFrameEnd(ReadOnlySpan<byte> data, bool isFinal = false)
    {
        int lineStart = 0;
        int pos = 0;
        while (true)
        {
            int rel = data[pos..].IndexOfAny((byte)'\r', (byte)'\n');
            if (rel < 0) return -1;
            int term = pos + rel;
            int next = term + 1;
            if (data[term] == (byte)'\r')
            {
                if (next == data.Length)
                {
                    if (!isFinal) return -1;
                }
                else if (data[next] == (byte)'\n')
                {
                    next++;
                }
            }
            if (term == lineStart)
                return next; // an empty line: the frame ends after its terminator
            lineStart = next;
            pos = next;
            if (pos >= data.Length) return -1;
        }
    }
}
