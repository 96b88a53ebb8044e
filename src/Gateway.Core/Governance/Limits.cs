namespace Gateway.Core.Governance;

/// <summary>Requests and tokens per minute a tenant, team or key may use; 0 means no limit.</summary>
public readonly record struct RateLimits(int Rpm, int Tpm)
{
    public static readonly RateLimits None = default;

    public bool IsNone => Rpm <= 0 && Tpm <= 0;
}
