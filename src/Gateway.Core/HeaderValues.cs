namespace Gateway.Core;

/// <summary>What may go in an HTTP header value the gateway sends upstream (HttpClient refuses anything else at send time).</summary>
public static class HeaderValues
{
    /// <summary>Why a value cannot go in an HTTP header as it is (visible ASCII, spaces and tabs only), or null.</summary>
    public static string? Problem(string value)
    {
        foreach (char c in value)
        {
            if (c is '\r' or '\n') return "must not contain line breaks";
            if (c is not ('\t' or (>= ' ' and <= '~'))) return $"may hold only visible ASCII characters, spaces and tabs (it has U+{(int)c:X4})";
        }
        return null;
    }
}
