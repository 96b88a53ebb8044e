using System.Runtime.CompilerServices;
using System.Diagnostics;

namespace Gateway.Server.Http;

/// <summary>
/// At most one failure line per deployment a second: an outage must reach the log, not flood it. Keyed
/// by the deployment's state (a group's deployment) or, for a <c>provider/model</c> request, the provider
/// instance: objects only the configuration makes, so the table cannot grow with requests, and lets go
/// of what a reload replaced.
/// </summary>
internal sealed class ProviderFailureLog
{
    private static readonly long Interval = Stopwatch.Frequency;
    private readonly ConditionalWeakTable<object, Gate> _gates = [];

    /// <summary>Whether this failure gets a line; if so, how many were skipped since the last one.</summary>
    public bool ShouldLog(object provider, out int suppressed)
    {
        var gate = _gates.GetValue(provider, static _ => new Gate());
        long now = Stopwatch.GetTimestamp();
        lock (gate)
        {
            if (now < gate.Next)
            {
                gate.Suppressed++;
                suppressed = 0;
                return false;
            }
            gate.Next = now + Interval;
            suppressed = gate.Suppressed;
            gate.Suppressed = 0;
            return true;
        }
    }

    private sealed class Gate
    {
        public long Next;
        public int Suppressed;
    }
}
