using Gateway.Core.Auth;
using Gateway.Core.Governance;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Gateway.Server.Http;

/// <summary>Finds the gateway key in <c>Authorization: Bearer</c> or <c>x-api-key</c> (on the Gemini routes also <c>x-goog-api-key</c> or <c>?key=</c>).</summary>
internal static class Authenticator
{
    private static readonly object CacheSlot = new();

    /// <summary>
    /// Kestrel hands out the same string instance when a keep-alive connection repeats a header's
    /// bytes, so a key already verified on this connection is recognised by reference, without
    /// hashing it again (SHA-256 was 1.8% of a proxied request's CPU). Only an identical string
    /// instance, from the same key ring, skips the hash: nothing about a different key is learned.
    /// </summary>
    private sealed record Verified(string Header, KeyRing Ring, GovernanceDirectory Directory, GatewayKey Key);

    /// <summary>The key presented, from the configuration's keys or the stored ones (not revoked); null when neither has it.</summary>
    /// <param name="googleKeys">Also <c>x-goog-api-key</c> and <c>?key=</c>, where the Gemini SDKs put it (only on the Gemini routes:
    /// elsewhere a key in the URL would end up in access logs for nothing).</param>
    public static GatewayKey? Authenticate(HttpContext context, KeyRing keys, GovernanceDirectory directory, bool googleKeys = false)
    {
        var headers = context.Request.Headers;
        // Connection items are a plain dictionary: safe only while one request at a time uses the
        // connection, i.e. HTTP/1.x. HTTP/2 and HTTP/3 multiplex requests, so they hash every time.
        var items = HttpProtocol.IsHttp11(context.Request.Protocol) || HttpProtocol.IsHttp10(context.Request.Protocol)
            ? context.Features.Get<IConnectionItemsFeature>()?.Items
            : null;
        var authorization = headers[HeaderNames.Authorization];
        if (authorization.Count == 1 && authorization[0] is { } bearer)
        {
            if (Cached(items, bearer, keys, directory) is { } cached) return cached;
            var value = bearer.AsSpan().Trim();
            if (value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && Find(value[7..].Trim(), keys, directory) is { } key)
                return Remember(items, bearer, keys, directory, key);
        }
        var apiKey = headers["x-api-key"];
        if (apiKey.Count == 1 && apiKey[0] is { } raw)
        {
            if (Cached(items, raw, keys, directory) is { } cached) return cached;
            if (Find(raw.AsSpan().Trim(), keys, directory) is { } key) return Remember(items, raw, keys, directory, key);
        }
        if (!googleKeys) return null;
        var googKey = headers["x-goog-api-key"];
        if (googKey.Count == 1 && googKey[0] is { } goog)
        {
            if (Cached(items, goog, keys, directory) is { } cached) return cached;
            if (Find(goog.AsSpan().Trim(), keys, directory) is { } key) return Remember(items, goog, keys, directory, key);
        }
        var query = context.Request.Query["key"];
        return query.Count == 1 && query[0] is { Length: > 0 } inQuery ? Find(inQuery.AsSpan().Trim(), keys, directory) : null;
    }

    private static GatewayKey? Find(ReadOnlySpan<char> presented, KeyRing keys, GovernanceDirectory directory)
    {
        Span<byte> hash = stackalloc byte[32];
        if (!KeyRing.TryHash(presented, hash)) return null;
        return keys.FindHash(hash) ?? (directory.Ring.Count > 0 ? directory.Ring.FindHash(hash) : null);
    }

    // A directory swap (a key revoked, changed) ends what a connection had verified.
    private static GatewayKey? Cached(IDictionary<object, object?>? items, string header, KeyRing keys, GovernanceDirectory directory) =>
        items is not null && items.TryGetValue(CacheSlot, out var slot) && slot is Verified v && ReferenceEquals(v.Header, header) && ReferenceEquals(v.Ring, keys)
        && ReferenceEquals(v.Directory, directory)
            ? v.Key
            : null;

    private static GatewayKey Remember(IDictionary<object, object?>? items, string header, KeyRing keys, GovernanceDirectory directory, GatewayKey key)
    {
        if (items is not null) items[CacheSlot] = new Verified(header, keys, directory, key);
        return key;
    }

    /// <summary>A stored key past its expiry is refused like an unknown one, with a message that says why.</summary>
    public static bool IsExpired(GatewayKey key, TimeProvider time) =>
        key.Governance.ExpiresAt is { } expires && time.GetUtcNow().ToUnixTimeMilliseconds() >= expires;
}
