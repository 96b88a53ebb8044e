using Gateway.Core.Providers;

namespace Gateway.Core.Routing;

/// <summary>
/// Where a request goes. Either a pre-built <see cref="Target"/> (an alias), or a provider plus the
/// part of the client's own model string after <c>provider/</c>, used in place without copying.
/// </summary>
public readonly struct ModelRoute(IProvider provider, RouteTarget? target, int modelOffset)
{
    public IProvider Provider { get; } = provider;
    public RouteTarget? Target { get; } = target;
    /// <summary>When <see cref="Target"/> is null: where the upstream model starts in the raw model bytes.</summary>
    public int ModelOffset { get; } = modelOffset;
}
