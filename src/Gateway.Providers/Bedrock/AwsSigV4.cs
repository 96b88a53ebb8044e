using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Gateway.Providers.Bedrock;

/// <summary>AWS credentials; the session token is set for temporary credentials.</summary>
public sealed record AwsCredentials(string AccessKeyId, string SecretAccessKey, string? SessionToken)
{
    public override string ToString() => $"AWS credentials {AccessKeyId}"; // never the secret
}

/// <summary>
/// AWS Signature Version 4 for one request: canonical request, string to sign, derived key,
/// signature. Checked against the published examples (tests/Gateway.Providers.Tests/Bedrock).
/// </summary>
public static class AwsSigV4
{
    public const string Algorithm = "AWS4-HMAC-SHA256";

    /// <param name="method">GET, POST, ...</param>
    /// <param name="canonicalUri">The path as signed (already URI-encoded the way the service wants).</param>
    /// <param name="canonicalQuery">The sorted, encoded query string, or empty.</param>
    /// <param name="headers">Every header to sign (host and x-amz-date included), names in any case.</param>
    /// <param name="payloadHash">Hex SHA-256 of the body.</param>
    /// <returns>The Authorization header value.</returns>
    public static string Authorization(string method, string canonicalUri, string canonicalQuery, IEnumerable<KeyValuePair<string, string>> headers,
        string payloadHash, AwsCredentials credentials, string region, string service, DateTimeOffset time)
    {
        var sorted = headers
            .Select(h => (Name: h.Key.ToLowerInvariant(), Value: string.Join(' ', h.Value.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries))))
            .OrderBy(h => h.Name, StringComparer.Ordinal)
            .ToArray();
        string signedHeaders = string.Join(';', sorted.Select(h => h.Name));
        var canonical = new StringBuilder()
            .Append(method).Append('\n')
            .Append(canonicalUri).Append('\n')
            .Append(canonicalQuery).Append('\n');
        foreach (var (name, value) in sorted) canonical.Append(name).Append(':').Append(value).Append('\n');
        canonical.Append('\n').Append(signedHeaders).Append('\n').Append(payloadHash);

        string date = time.UtcDateTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
        string scope = $"{date}/{region}/{service}/aws4_request";
        string stringToSign = $"{Algorithm}\n{AmzDate(time)}\n{scope}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())))}";

        byte[] key = Hmac(Encoding.UTF8.GetBytes("AWS4" + credentials.SecretAccessKey), date);
        key = Hmac(key, region);
        key = Hmac(key, service);
        key = Hmac(key, "aws4_request");
        string signature = Hex(Hmac(key, stringToSign));
        return $"{Algorithm} Credential={credentials.AccessKeyId}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}";
    }

    public static string AmzDate(DateTimeOffset time) => time.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    public static string PayloadHash(ReadOnlySpan<byte> body) => Hex(SHA256.HashData(body));

    /// <summary>RFC 3986 encoding as SigV4 wants it: unreserved characters kept, everything else %XX (upper case).</summary>
    public static string UriEncode(string value)
    {
        var result = new StringBuilder(value.Length);
        foreach (byte b in Encoding.UTF8.GetBytes(value))
        {
            if (char.IsAsciiLetterOrDigit((char)b) || b is (byte)'-' or (byte)'_' or (byte)'.' or (byte)'~') result.Append((char)b);
            else result.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return result.ToString();
    }

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}
