using System.Buffers;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace Gateway.Core.Routing;

/// <summary>
/// Counts the tokens a request puts in front of the model, with the <c>o200k_base</c> tokenizer
/// (GPT-4o and later; other vendors' tokenizers are not public, and it lands within a few percent
/// of them on English text). Only the text the model reads is counted: message contents, system
/// prompt, roles, tool definitions, embedding input; images count a flat <see cref="PerImage"/>. Used for
/// routing (lowest cost, context windows, tokens-per-minute capacity), never to bill: billing uses
/// the provider's reported usage.
/// </summary>
public static class PromptTokens
{
    /// <summary>What each message adds around its role and content (OpenAI's chat format: separators).</summary>
    public const int PerMessage = 3;

    /// <summary>What priming the answer adds once per request.</summary>
    public const int PerReply = 3;

    /// <summary>An image at high detail, 1024x1024 (OpenAI's 85 + 4 tiles x 170): the size is not known without decoding it.</summary>
    public const int PerImage = 765;

    /// <summary>
    /// Characters counted exactly per request (about 0.2 ms of tokenizer time); text beyond them is
    /// estimated at the tokens-per-character ratio of what was counted. A 20 MB body must not cost
    /// a second of CPU to route.
    /// </summary>
    public const int MaxExactChars = 16 * 1024;

    private static readonly Lazy<Tokenizer?> Encoding200k = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Why the vocabulary could not be loaded (counts then fall back to four characters a token); null when it loaded.</summary>
    public static string? LoadError { get; private set; }

    /// <summary>Loads the vocabulary (about 200 ms in the native binary) ahead of the first request that needs it; false when it cannot.</summary>
    public static bool Warm() => Encoding200k.Value is { } tokenizer && tokenizer.CountTokens("warm") > 0;

    /// <summary>
    /// The vocabulary is loaded, so counting costs microseconds; otherwise its load (about 200 ms) is started
    /// on the thread pool, once, and false is returned: a caller on a latency-bound path (a stream's relay)
    /// estimates instead of waiting for it.
    /// </summary>
    public static bool ReadyOrLoading()
    {
        if (Encoding200k.IsValueCreated) return true;
        if (Interlocked.Exchange(ref s_loading, 1) == 0) ThreadPool.UnsafeQueueUserWorkItem(_ => Warm(), null);
        return false;
    }

    private static int s_loading;

    /// <summary>Tokens in <paramref name="text"/>.</summary>
    public static int CountText(ReadOnlySpan<char> text) =>
        text.IsEmpty ? 0 : Encoding200k.Value is { } tokenizer ? tokenizer.CountTokens(text) : (text.Length + 3) / 4;

    // A vocabulary that cannot load degrades routing to estimates, loudly (GatewayHost logs LoadError), rather than failing requests.
    private static Tokenizer? Load()
    {
        try
        {
            return TiktokenTokenizer.CreateForEncoding("o200k_base");
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or NotSupportedException or IOException or TypeLoadException)
        {
            LoadError = $"{ex.GetType().Name}: {ex.Message}";
            return null;
        }
    }

    /// <summary>
    /// The prompt tokens of a request body as clients send it (chat completions, embeddings, /v1/messages), and the output it asks room
    /// for (<c>max_tokens</c>, <c>max_completion_tokens</c>, <c>max_output_tokens</c>; 0 when none).
    /// A body that is not JSON counts at four bytes a token.
    /// </summary>
    public static (int Prompt, int MaxOutput) Count(ReadOnlySpan<byte> body)
    {
        try
        {
            return Walk(body);
        }
        catch (JsonException)
        {
            return (body.Length / 4, 0);
        }
    }

    /// <summary>
    /// The output a request asks room for (<c>max_tokens</c>, <c>max_completion_tokens</c>,
    /// <c>max_output_tokens</c> at the top level; 0 when none), reading only the top level: other values are
    /// skipped, not decoded, so a request costs well under a microsecond per KB.
    /// </summary>
    public static int MaxOutput(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 256 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return 0;
            int max = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool wanted = reader.ValueTextEquals("max_tokens"u8) || reader.ValueTextEquals("max_completion_tokens"u8) || reader.ValueTextEquals("max_output_tokens"u8);
                reader.Read();
                if (wanted && reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int value) && value > 0) max = value;
                else reader.Skip();
            }
            return max;
        }
        catch (JsonException)
        {
            return 0;
        }
    }

    /// <summary>
    /// A quick prompt estimate for a request whose tokens are not counted: a third of its bytes. High for
    /// English (about four bytes a token, and the JSON around the text counts too), about right for CJK
    /// text (three bytes a character): a reservation made from it rarely falls short of the real count.
    /// </summary>
    public static int QuickEstimate(ReadOnlySpan<byte> body) => body.Length / 3;

    private static (int Prompt, int MaxOutput) Walk(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 256 });
        int tokens = 0, maxOutput = 0, exactChars = 0, exactTokens = 0;
        long estimatedChars = 0;
        bool counting = false, messages = false, sawMessages = false, skipValue = false;
        char[]? rented = null;
        Span<char> chars = stackalloc char[512];
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName when reader.CurrentDepth == 1:
                        messages = reader.ValueTextEquals("messages"u8);
                        sawMessages |= messages;
                        counting = messages || reader.ValueTextEquals("system"u8) || reader.ValueTextEquals("tools"u8) || reader.ValueTextEquals("input"u8)
                            || reader.ValueTextEquals("prompt"u8) || reader.ValueTextEquals("functions"u8) || reader.ValueTextEquals("response_format"u8);
                        skipValue = false;
                        if (reader.ValueTextEquals("max_tokens"u8) || reader.ValueTextEquals("max_completion_tokens"u8) || reader.ValueTextEquals("max_output_tokens"u8))
                        {
                            reader.Read();
                            if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int max) && max > 0) maxOutput = max;
                        }
                        break;
                    case JsonTokenType.PropertyName:
                        // Identifiers and payloads the model does not read as text.
                        skipValue = reader.ValueTextEquals("id"u8) || reader.ValueTextEquals("tool_call_id"u8)
                            || reader.ValueTextEquals("url"u8) || reader.ValueTextEquals("data"u8) || reader.ValueTextEquals("file_data"u8)
                            || reader.ValueTextEquals("media_type"u8) || reader.ValueTextEquals("detail"u8) || reader.ValueTextEquals("format"u8)
                            || reader.ValueTextEquals("cache_control"u8);
                        if (counting && reader.ValueTextEquals("type"u8))
                        {
                            reader.Read();
                            if (reader.TokenType == JsonTokenType.String && (reader.ValueTextEquals("image_url"u8) || reader.ValueTextEquals("image"u8) || reader.ValueTextEquals("input_image"u8))) tokens += PerImage;
                            skipValue = false;
                        }
                        break;
                    case JsonTokenType.StartObject when messages && reader.CurrentDepth == 2:
                        tokens += PerMessage;
                        break;
                    case JsonTokenType.String when counting && !skipValue:
                        var raw = reader.ValueSpan;
                        if (raw.Length > chars.Length)
                        {
                            if (rented is not null) ArrayPool<char>.Shared.Return(rented);
                            rented = ArrayPool<char>.Shared.Rent(raw.Length);
                            chars = rented;
                        }
                        // Unescaped text is never longer in chars than its UTF-8 bytes.
                        int length = reader.ValueIsEscaped ? reader.CopyString(chars) : System.Text.Encoding.UTF8.GetChars(raw, chars);
                        int exact = Math.Min(length, MaxExactChars - exactChars);
                        if (exact < length && exact > 0 && char.IsHighSurrogate(chars[exact - 1])) exact--;
                        int counted = CountText(chars[..exact]);
                        exactChars += exact;
                        exactTokens += counted;
                        tokens += counted;
                        estimatedChars += length - exact;
                        break;
                }
            }
        }
        finally
        {
            if (rented is not null) ArrayPool<char>.Shared.Return(rented);
        }
        if (estimatedChars > 0)
            tokens += (int)Math.Min(int.MaxValue / 2, exactChars > 0 ? estimatedChars * exactTokens / exactChars : estimatedChars / 4);
        return (sawMessages ? tokens + PerReply : tokens, maxOutput);
    }
}
