namespace Gateway.Benchmarks;

/// <summary>The bench harness's own request and SSE bodies (copied from ../shared/bench), so figures compare.</summary>
internal static class BenchData
{
    public static byte[] ChatRequest => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "data", "chat-request.json"));
    public static byte[] StreamRequest => System.Text.Encoding.UTF8.GetBytes(
        System.Text.Encoding.UTF8.GetString(ChatRequest).Replace("\"stream\":false", "\"stream\":true", StringComparison.Ordinal));
    /// <summary>20 chat.completion.chunk frames + [DONE], as OpenAI sends them (6 KB).</summary>
    public static byte[] Stream => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "data", "stream.sse"));
}
