namespace Gateway.Core.Protocol;

/// <summary>An inline <c>data:&lt;media type&gt;;base64,&lt;data&gt;</c> URL taken apart.</summary>
public readonly record struct DataUrl(string MediaType, string Base64Data)
{
    /// <summary>Whether <paramref name="url"/> is a data URL at all (a remote URL is not).</summary>
    public static bool IsDataUrl(string url) => url.StartsWith("data:", StringComparison.Ordinal);

    /// <summary>Reads a base64 data URL; false for a remote URL or a data URL in any other encoding.</summary>
    public static bool TryParse(string url, out DataUrl dataUrl)
    {
        dataUrl = default;
        if (!IsDataUrl(url)) return false;
        int comma = url.IndexOf(',', StringComparison.Ordinal);
        int semicolon = url.IndexOf(';', StringComparison.Ordinal);
        if (comma < 0 || semicolon < 0 || semicolon > comma || !url.AsSpan(semicolon, comma - semicolon).SequenceEqual(";base64")) return false;
        dataUrl = new DataUrl(url[5..semicolon], url[(comma + 1)..]);
        return true;
    }
}
