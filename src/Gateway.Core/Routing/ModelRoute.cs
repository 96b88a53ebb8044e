using Gateway.Core.Providers;

namespace Gateway.Core.Routing;

/// <summary>
/// Where a request goes. Either a pre-built <see cref="Target"/> (an alias), or a provider plus the
/// part of the client's own model string after <c>provider/</c>, used in place without copying.
/// </summary>
public readonly struct ModelRoute(IProvider provider, RouteTarget? target, int modelOffset, DeploymentGroup? group = null, int deployment = -1,
    RoutingRequest request = default)
{
    /// <summary>What the router read of the request for its group's pick, kept for later attempts' picks.</summary>
    public RoutingRequest Request { get; } = request;

    public IProvider Provider { get; } = provider;
    public RouteTarget? Target { get; } = target;
    /// <summary>When <see cref="Target"/> is null: where the upstream model starts in the raw model bytes.</summary>
    public int ModelOffset { get; } = modelOffset;

    /// <summary>The alias or group the model named; null for <c>provider/model</c>.</summary>
    public DeploymentGroup? Group { get; } = group;

    /// <summary>Which of the group's deployments this route is (its index), or -1.</summary>
    public int Deployment { get; } = deployment;

    /// <summary>This route was picked but will not be sent: its deployment gives up any breaker probe claim.</summary>
    public void NotSent()
    {
        if (Group is { } group && Deployment >= 0) group.Deployments[Deployment].State.NotSent();
    }

    /// <summary>The same request sent to another deployment of its group (a retry), or of a fallback group.</summary>
    public static ModelRoute ToDeployment(DeploymentGroup group, int deployment, in RoutingRequest request = default) =>
        new(group.Deployments[deployment].Target.Provider, group.Deployments[deployment].Target, 0, group, deployment, request);
}
