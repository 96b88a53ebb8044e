using System.Diagnostics;
using Gateway.Core.Auth;
using Gateway.Core.Config;

namespace Gateway.Policies;

/// <summary>
/// One configured policy: its binding, the version now serving (swapped atomically by a reload of its
/// file) and its meter. A request takes <see cref="Current"/> once and keeps that version to the end.
/// </summary>
public sealed class PolicySlot(PolicyConfig config, CompiledPolicy initial)
{
    private CompiledPolicy _current = initial;

    public PolicyConfig Config { get; } = config;
    public string Name => Config.Name;
    public CompiledPolicy Current => Volatile.Read(ref _current);
    public PolicyMeter Meter { get; } = new();

    internal void Swap(CompiledPolicy next) => Volatile.Write(ref _current, next);

    public bool Binds(string model, string? keyId)
    {
        if (!Matches(Config.Models, model)) return false;
        // A key list other than "*" binds only requests made with one of those keys.
        return Config.Keys is ["*"] || (keyId is not null && Matches(Config.Keys, keyId));
    }

    private static bool Matches(IReadOnlyList<string> patterns, string value)
    {
        foreach (var pattern in patterns)
            if (Glob.IsMatch(pattern, value)) return true;
        return false;
    }
}

/// <summary>Per policy: calls, failures, limit hits and time spent, since the start.</summary>
public sealed class PolicyMeter
{
    private long _calls, _failures, _limitHits, _ticks;

    public long Calls => Interlocked.Read(ref _calls);
    public long Failures => Interlocked.Read(ref _failures);
    public long LimitHits => Interlocked.Read(ref _limitHits);
    public TimeSpan Time => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _ticks));

    public void Record(long ticks, in PolicyOutcome outcome)
    {
        Interlocked.Increment(ref _calls);
        Interlocked.Add(ref _ticks, ticks);
        if (outcome.Kind != PolicyOutcomeKind.Failed) return;
        Interlocked.Increment(ref _failures);
        if (outcome.LimitHit) Interlocked.Increment(ref _limitHits);
    }
}
