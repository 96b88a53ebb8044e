using System.Globalization;

namespace Gateway.Server.Observability.Tracing;

/// <summary>
/// Which traces are recorded: <c>OTEL_TRACES_SAMPLER</c> and <c>OTEL_TRACES_SAMPLER_ARG</c> as the
/// specification names them, default <c>parentbased_always_on</c>. A ratio decides by the trace id (the same
/// rule as OpenTelemetry .NET's: its first 8 bytes against the ratio), so every service keeps or drops a trace whole.
/// </summary>
internal sealed class TraceSampler
{
    private enum Root { AlwaysOn, AlwaysOff, Ratio }

    private readonly Root _root;
    private readonly bool _parentBased;
    private readonly long _bound;

    private TraceSampler(string description, Root root, bool parentBased, double ratio)
    {
        Description = description;
        _root = root;
        _parentBased = parentBased;
        _bound = ratio >= 1 ? long.MaxValue : (long)(ratio * long.MaxValue);
    }

    public string Description { get; }

    /// <summary>Whether a span of this trace is recorded and exported.</summary>
    /// <param name="parent">The client's trace, when it sent one.</param>
    public bool ShouldSample(in TraceParent? parent, UInt128 traceId)
    {
        if (_parentBased && parent is { } p) return p.IsSampled;
        return _root switch
        {
            Root.AlwaysOn => true,
            Root.AlwaysOff => false,
            _ => RatioKeeps(traceId),
        };
    }

    private bool RatioKeeps(UInt128 traceId)
    {
        long head = (long)(ulong)(traceId >> 64);
        if (head == long.MinValue) head = long.MaxValue;
        return Math.Abs(head) < _bound;
    }

    /// <exception cref="ArgumentException">An unknown sampler or a ratio outside 0..1: the start stops with the reason.</exception>
    public static TraceSampler FromEnvironment(IReadOnlyDictionary<string, string> env)
    {
        string name = env.GetValueOrDefault("OTEL_TRACES_SAMPLER") is { Length: > 0 } configured ? configured.Trim().ToLowerInvariant() : "parentbased_always_on";
        double ratio = 1;
        if (env.GetValueOrDefault("OTEL_TRACES_SAMPLER_ARG") is { Length: > 0 } arg
            && !(double.TryParse(arg, NumberStyles.Float, CultureInfo.InvariantCulture, out ratio) && ratio is >= 0 and <= 1))
            throw new ArgumentException($"OTEL_TRACES_SAMPLER_ARG: a ratio from 0 to 1, not '{arg}'");
        string ratioText = ratio.ToString("0.######", CultureInfo.InvariantCulture);
        return name switch
        {
            "always_on" => new("always_on", Root.AlwaysOn, false, 1),
            "always_off" => new("always_off", Root.AlwaysOff, false, 0),
            "traceidratio" => new($"traceidratio {ratioText}", Root.Ratio, false, ratio),
            "parentbased_always_on" => new("parentbased_always_on", Root.AlwaysOn, true, 1),
            "parentbased_always_off" => new("parentbased_always_off", Root.AlwaysOff, true, 0),
            "parentbased_traceidratio" => new($"parentbased_traceidratio {ratioText}", Root.Ratio, true, ratio),
            _ => throw new ArgumentException($"OTEL_TRACES_SAMPLER: '{name}' is not one of always_on, always_off, traceidratio, parentbased_always_on, "
                + "parentbased_always_off, parentbased_traceidratio"),
        };
    }
}
