namespace Gateway.Policies;

/// <summary>What a hook's <c>ctx</c> holds about the request: who sent it, for what, and what the operator chose to show.</summary>
public sealed record PolicyContext(string Model, string? KeyId = null, string? Tenant = null)
{
    /// <summary>Request metadata and the headers the operator allowed, by name.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = EmptyMetadata;

    private static readonly Dictionary<string, string> EmptyMetadata = [];
}
