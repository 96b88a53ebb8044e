namespace Gateway.Core.Routing;

/// <summary>
/// Retries may add at most a fixed share of load: each request earns a fraction of a retry, each
/// retry spends one. In an outage retries stop at that share instead of multiplying the traffic.
/// </summary>
public sealed class RetryBudget(double retriesPerRequest = 0.2, double minimum = 10, double maximum = 100)
{
    private readonly Lock _gate = new();
    private double _tokens = minimum;

    public void Deposit()
    {
        lock (_gate) _tokens = Math.Min(maximum, _tokens + retriesPerRequest);
    }

    public bool TryWithdraw()
    {
        lock (_gate)
        {
            if (_tokens < 1) return false;
            _tokens -= 1;
            return true;
        }
    }
}
