using System.Text.Json;

namespace Gateway.Providers.OpenAI;

/// <summary>The OpenAI <c>usage</c> object every translator writes.</summary>
internal static class OpenAIUsage
{
    /// <param name="prompt">All input tokens, cache reads and writes included (OpenAI counts them in).</param>
    /// <param name="completion">All output tokens, reasoning included.</param>
    public static void Write(Utf8JsonWriter w, int prompt, int completion, int cached = 0, int reasoning = 0)
    {
        w.WriteStartObject("usage"u8);
        w.WriteNumber("prompt_tokens"u8, prompt);
        w.WriteNumber("completion_tokens"u8, completion);
        w.WriteNumber("total_tokens"u8, prompt + completion);
        if (cached > 0)
        {
            w.WriteStartObject("prompt_tokens_details"u8);
            w.WriteNumber("cached_tokens"u8, cached);
            w.WriteEndObject();
        }
        if (reasoning > 0)
        {
            w.WriteStartObject("completion_tokens_details"u8);
            w.WriteNumber("reasoning_tokens"u8, reasoning);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }
}
