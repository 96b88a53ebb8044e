namespace Gateway.Providers.Anthropic;

internal static class AnthropicStopReasons
{
    /// <summary>OpenAI <c>finish_reason</c> to Anthropic <c>stop_reason</c>.</summary>
    public static string FromOpenAI(string? finishReason) => finishReason switch
    {
        "length" => "max_tokens",
        "tool_calls" or "function_call" => "tool_use",
        "content_filter" => "refusal",
        _ => "end_turn",
    };
}
