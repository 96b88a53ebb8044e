namespace Gateway.Providers.Gemini;

/// <summary>
/// Gemini function calls carry no id but may carry a <c>thoughtSignature</c> that Gemini 3 requires
/// back in the history. The signature rides inside the OpenAI tool-call id the client echoes.
/// </summary>
internal static class GeminiToolIds
{
    private const string SignedPrefix = "call_gsig_";

    public static string Create(int index, string? thoughtSignature) =>
        thoughtSignature is { Length: > 0 }
            ? SignedPrefix + thoughtSignature.Replace('+', '-').Replace('/', '_').TrimEnd('=')
            : $"call_{index}_{Guid.NewGuid():N}"[..20];

    public static string? SignatureOf(string? id)
    {
        if (id is null || !id.StartsWith(SignedPrefix, StringComparison.Ordinal)) return null;
        string b64 = id[SignedPrefix.Length..].Replace('-', '+').Replace('_', '/');
        return b64 + new string('=', (4 - b64.Length % 4) % 4);
    }
}
