using System.Buffers;
using System.Diagnostics;

namespace Gateway.Policies;

/// <summary>The configured policies in declared order. Immutable; a config reload makes a new set.</summary>
/// <param name="runner">Where the hooks run; none for an empty set.</param>
public sealed class PolicySet(IReadOnlyList<PolicySlot> slots, PolicyRunner? runner) : Gateway.Core.IPolicySet
{
    public static PolicySet Empty { get; } = new([], null);

    public IReadOnlyList<PolicySlot> Slots { get; } = slots;
    public bool IsEmpty => Slots.Count == 0;

    /// <summary>The policies bound to this request, each at the version serving now.</summary>
    /// <param name="model">The model as the client named it, JSON escapes decoded.</param>
    public PolicyChain Select(string model, string? keyId)
    {
        List<(PolicySlot, CompiledPolicy)>? bound = null;
        foreach (var slot in Slots)
            if (slot.Binds(model, keyId)) (bound ??= []).Add((slot, slot.Current));
        return bound is null ? PolicyChain.Empty : new PolicyChain([.. bound], runner!);
    }
}

/// <summary>The policies one request runs, fixed when it started: a reload mid-request does not change them.</summary>
public sealed class PolicyChain
{
    private readonly (PolicySlot Slot, CompiledPolicy Policy)[] _policies;
    private readonly PolicyRunner? _runner;

    internal PolicyChain((PolicySlot, CompiledPolicy)[] policies, PolicyRunner? runner)
    {
        _policies = policies;
        _runner = runner;
    }

    public static PolicyChain Empty { get; } = new([], null);

    /// <summary>Where this chain's hooks run (null only for the empty chain).</summary>
    public PolicyRunner? Runner => _runner;

    public bool IsEmpty => _policies.Length == 0;

    /// <summary>The bound policies' names, comma-separated in declared order (for the request log).</summary>
    public string Names => _names ??= string.Join(',', _policies.Select(p => p.Slot.Name));
    private string? _names;

    /// <summary>The policies (with the version this request runs) that export <paramref name="hook"/>, in declared order.</summary>
    public IEnumerable<(PolicySlot Slot, CompiledPolicy Policy)> WithHook(PolicyHooks hook)
    {
        foreach (var entry in _policies)
            if ((entry.Policy.Hooks & hook) != 0) yield return entry;
    }

    /// <summary>Every header name some policy of this chain may read.</summary>
    public IEnumerable<string> AllowedHeaders()
    {
        foreach (var (_, policy) in _policies)
            if (policy.AllowedHeaders.Count > 0) return _policies.SelectMany(p => p.Policy.AllowedHeaders).Distinct(StringComparer.Ordinal);
        return [];
    }

    public bool Has(PolicyHooks hook)
    {
        foreach (var (_, policy) in _policies)
            if ((policy.Hooks & hook) != 0) return true;
        return false;
    }

    /// <summary>
    /// Runs <c>onRequest</c> of each policy in declared order, each on the previous one's result.
    /// <paramref name="rent"/> gives a fresh output buffer for each change; the last written one
    /// holds the final request (or, for <see cref="PolicyOutcomeKind.Respond"/>, the answer).
    /// </summary>
    /// <param name="onFailOpen">Told about a fail-open policy that failed and was skipped.</param>
    public ValueTask<ChainResult<TBuffer>> OnRequestAsync<TBuffer>(ReadOnlyMemory<byte> request, PolicyContext context, Func<int, TBuffer> rent, Action<string, string> onFailOpen)
        where TBuffer : class, IBufferWriter<byte>, IWrittenMemory, IDisposable =>
        RunAsync(PolicyHooks.OnRequest, request, context, rent, onFailOpen);

    /// <summary>Runs <c>route</c> of each policy in declared order; each named model replaces the last, so the last policy to name one decides.</summary>
    public ValueTask<ChainResult<TBuffer>> RouteAsync<TBuffer>(ReadOnlyMemory<byte> request, PolicyContext context, Func<int, TBuffer> rent, Action<string, string> onFailOpen)
        where TBuffer : class, IBufferWriter<byte>, IWrittenMemory, IDisposable =>
        RunAsync(PolicyHooks.Route, request, context, rent, onFailOpen);

    /// <summary>Runs <c>onResponse</c> of each policy in reverse declared order (the first policy sees the answer last), on a whole answer.</summary>
    public ValueTask<ChainResult<TBuffer>> OnResponseAsync<TBuffer>(ReadOnlyMemory<byte> response, PolicyContext context, Func<int, TBuffer> rent, Action<string, string> onFailOpen)
        where TBuffer : class, IBufferWriter<byte>, IWrittenMemory, IDisposable =>
        RunAsync(PolicyHooks.OnResponse, response, context, rent, onFailOpen);

    private async ValueTask<ChainResult<TBuffer>> RunAsync<TBuffer>(PolicyHooks hook, ReadOnlyMemory<byte> input, PolicyContext context, Func<int, TBuffer> rent,
        Action<string, string> onFailOpen)
        where TBuffer : class, IBufferWriter<byte>, IWrittenMemory, IDisposable
    {
        TBuffer? current = null;
        string? changedBy = null;
        var json = input;
        bool reverse = hook == PolicyHooks.OnResponse;
        for (int i = 0; i < _policies.Length; i++)
        {
            var (slot, policy) = _policies[reverse ? _policies.Length - 1 - i : i];
            if ((policy.Hooks & hook) == 0) continue;
            long started = Stopwatch.GetTimestamp();
            var (outcome, output) = await _runner!.CallAsync(policy, hook, json, context, rent).ConfigureAwait(false);
            slot.Meter.Record(Stopwatch.GetTimestamp() - started, outcome);
            if (outcome.Kind == PolicyOutcomeKind.Respond && hook != PolicyHooks.OnRequest)
                outcome = PolicyOutcome.Failed($"policy '{slot.Name}': respond is for onRequest; onResponse returns the answer", false);
            switch (outcome.Kind)
            {
                case PolicyOutcomeKind.Changed:
                    current?.Dispose();
                    current = output!;
                    changedBy = slot.Name;
                    json = current.WrittenMemory;
                    continue;
                case PolicyOutcomeKind.Respond:
                    current?.Dispose();
                    return new ChainResult<TBuffer>(outcome, slot.Name, output);
                case PolicyOutcomeKind.Failed when policy.Mode == PolicyMode.FailOpen:
                    output?.Dispose();
                    onFailOpen(slot.Name, outcome.Message ?? "failed");
                    continue;
                case PolicyOutcomeKind.Unchanged:
                    output?.Dispose();
                    continue;
                default: // Reject, a fail-closed failure, an input the policy could not be shown, or overload: never skipped
                    output?.Dispose();
                    current?.Dispose();
                    return new ChainResult<TBuffer>(outcome, slot.Name, null);
            }
        }
        return new ChainResult<TBuffer>(current is null ? PolicyOutcome.Unchanged : PolicyOutcome.Changed, changedBy, current);
    }
}

/// <summary>A buffer that can hand back what was written to it.</summary>
public interface IWrittenMemory
{
    ReadOnlyMemory<byte> WrittenMemory { get; }
}

/// <summary>What a chain of request hooks decided; <see cref="Buffer"/> (the caller disposes it) holds the new request or the answer.</summary>
/// <param name="Policy">The policy that rejected, responded or failed; for a change, the last one that changed the request.</param>
public readonly record struct ChainResult<TBuffer>(PolicyOutcome Outcome, string? Policy, TBuffer? Buffer) where TBuffer : class;
