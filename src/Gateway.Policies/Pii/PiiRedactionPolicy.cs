using Gateway.Core.Config;

namespace Gateway.Policies.Pii;

/// <summary>
/// The built-in PII redaction (<c>"builtin": "pii-redaction"</c>): the redactor of
/// <c>gateway.redact</c>, run in C# over the request's bytes (<see cref="PiiRequestRedactor"/>) under
/// the same slot, binding, meter and failure mode as any other policy. Placeholders are put back in
/// the answer by the gateway.
/// </summary>
public static class PiiRedactionPolicy
{
    public static CompiledPolicy Compile(PolicyConfig config, long version, PolicyMode mode, PolicyLimits limits)
    {
        // The config reader has refused any other name; placeholder is its default.
        if (!PiiRedactor.TryParseMode(config.RedactMode, out var redactMode)) redactMode = PiiMode.Placeholder;
        var kinds = PiiKinds.None;
        foreach (var name in config.RedactKinds)
            if (PiiRedactor.TryParseKind(name, out var kind)) kinds |= kind;
        return CompiledPolicy.Native(config.Name, version, mode, limits, new PiiRequestRedactor(redactMode, kinds == PiiKinds.None ? PiiKinds.All : kinds));
    }
}
