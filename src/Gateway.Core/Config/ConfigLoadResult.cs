namespace Gateway.Core.Config;

/// <summary>Either a configuration or every problem found in it (never only the first).</summary>
public sealed record ConfigLoadResult(GatewayConfig? Config, IReadOnlyList<string> Errors, IReadOnlyList<string> Warnings)
{
    public bool IsValid => Config is not null && Errors.Count == 0;
}
