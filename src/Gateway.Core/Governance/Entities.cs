namespace Gateway.Core.Governance;

/// <summary>The top of the hierarchy: an organisation or customer. Times are Unix milliseconds (UTC).</summary>
public sealed record Tenant(string Id, string Name, RateLimits Limits, Budget? Budget, string? Metadata, long CreatedAt, long UpdatedAt);

/// <summary>A team, inside a tenant or on its own.</summary>
public sealed record Team(string Id, string? Tenant, string Name, RateLimits Limits, Budget? Budget, string? Metadata, long CreatedAt, long UpdatedAt);

/// <summary>
/// A stored gateway key: only the SHA-256 of the secret is kept, with its first characters
/// (<see cref="Prefix"/>) so people can tell keys apart. A key may belong to a team (and so its
/// tenant), to a tenant directly, or to neither.
/// </summary>
public sealed record StoredKey(string Id, string Name, byte[] Hash, string Prefix, string? Tenant, string? Team, IReadOnlyList<string> Models,
    RateLimits Limits, Budget? Budget, bool Admin, string? Metadata, long? ExpiresAt, long? RevokedAt, long CreatedAt, long UpdatedAt)
{
    public bool IsRevoked => RevokedAt is not null;
}

/// <summary>A provider added through the admin API: its entry (JSON, without the credential) and the credential sealed.</summary>
public sealed record StoredProvider(string Name, string Entry, SealedSecret? Secret, long CreatedAt, long UpdatedAt);

/// <summary>A secret encrypted with AES-GCM: nonce, then ciphertext followed by the 16-byte tag.</summary>
public sealed record SealedSecret(byte[] Nonce, byte[] Ciphertext);

/// <summary>One admin change: who made it, what and when, the entity before and after (never a secret).</summary>
public sealed record AuditEntry(long Id, long Time, string Actor, string Action, string Entity, string EntityId, string? Before, string? After);
