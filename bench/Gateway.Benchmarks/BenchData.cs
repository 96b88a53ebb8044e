namespace Gateway.Benchmarks;

/// <summary>The bench harness's own request and SSE bodies (copied from ../shared/bench), so figures compare.</summary>
internal static class BenchData
{
    /// <summary>One streamed chat request as its record says it ended (the metrics and tracing benchmarks record it).</summary>
    public static Gateway.Server.Pipeline.RequestRecord StreamedRecord => new()
    {
        RequestId = "r", Method = "POST", Path = "/v1/chat/completions", Dialect = "chat", KeyId = "team-a", Model = "fast", Provider = "openai",
        ProviderModel = "gpt-4o-mini", Attempts = 1, Stream = true, Status = 200, Outcome = Gateway.Server.Pipeline.RequestOutcome.Answered,
        Total = TimeSpan.FromMilliseconds(812), Upstream = TimeSpan.FromMilliseconds(811.7), TimeToFirstToken = TimeSpan.FromMilliseconds(230),
        Usage = new Gateway.Core.Sse.TokenUsage(812, 164, 976, 512, 0), CostNanos = 220_000,
    };

    public static byte[] ChatRequest => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "data", "chat-request.json"));
    public static byte[] StreamRequest => System.Text.Encoding.UTF8.GetBytes(
        System.Text.Encoding.UTF8.GetString(ChatRequest).Replace("\"stream\":false", "\"stream\":true", StringComparison.Ordinal));
    /// <summary>20 chat.completion.chunk frames + [DONE], as OpenAI sends them (6 KB).</summary>
    public static byte[] Stream => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "data", "stream.sse"));
}
