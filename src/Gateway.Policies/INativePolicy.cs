using System.Buffers;

namespace Gateway.Policies;

/// <summary>
/// A policy the gateway ships in C# rather than JavaScript (the built-in PII redaction): the same hooks
/// and outcomes as a script, and the same slot, binding, meter and mode around it.
/// </summary>
public interface INativePolicy
{
    PolicyHooks Hooks { get; }

    /// <summary>Runs one hook; a changed input is written whole to <paramref name="output"/>. Bounded work: no call runs long.</summary>
    PolicyOutcome Call(PolicyHooks hook, ReadOnlySpan<byte> json, PolicyContext context, IBufferWriter<byte> output);
}
