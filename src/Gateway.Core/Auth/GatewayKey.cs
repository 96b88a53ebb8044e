namespace Gateway.Core.Auth;

/// <summary>An authenticated caller: which key, and what it may use.</summary>
public sealed class GatewayKey(string id, bool admin, IReadOnlyList<string> modelPatterns, int priority = 1)
{
    /// <summary>0 low, 1 normal, 2 high: this key's requests' priority and the most one may ask for.</summary>
    public int Priority { get; } = priority;

    public string Id { get; } = id;

    /// <summary>The levels that govern a stored key's requests (limits, budgets, expiry); none for a key from the configuration.</summary>
    public Governance.KeyGovernance Governance { get; init; } = Gateway.Core.Governance.KeyGovernance.None;
    public bool Admin { get; } = admin;
    /// <summary>Glob patterns (<c>*</c> wildcard) of the models this key may call; empty means all.</summary>
    public IReadOnlyList<string> ModelPatterns { get; } = modelPatterns;

    public bool MayUse(ReadOnlySpan<char> model)
    {
        if (ModelPatterns.Count == 0) return true;
        foreach (var pattern in ModelPatterns)
            if (Glob.IsMatch(pattern, model)) return true;
        return false;
    }
}
