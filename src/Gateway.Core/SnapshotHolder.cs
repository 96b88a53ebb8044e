namespace Gateway.Core;

/// <summary>Publishes the current <see cref="GatewaySnapshot"/>; readers never lock.</summary>
public sealed class SnapshotHolder(GatewaySnapshot initial)
{
    private GatewaySnapshot _current = initial;

    public GatewaySnapshot Current => Volatile.Read(ref _current);

    /// <summary>Swaps in a new snapshot; requests already running keep the one they read.</summary>
    public GatewaySnapshot Swap(GatewaySnapshot next) => Interlocked.Exchange(ref _current, next);
}
