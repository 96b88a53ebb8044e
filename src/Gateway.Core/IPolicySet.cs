namespace Gateway.Core;

/// <summary>
/// The policies in force with a configuration, as the snapshot carries them: the policy library's set,
/// swapped in with the configuration it was built from, so a request reads both at once.
/// </summary>
public interface IPolicySet
{
    bool IsEmpty { get; }

    /// <summary>No policies (a snapshot before any set was built).</summary>
    public static IPolicySet None { get; } = new NoPolicies();

    private sealed class NoPolicies : IPolicySet
    {
        public bool IsEmpty => true;
    }
}
