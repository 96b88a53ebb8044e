namespace Gateway.Core.Providers;

/// <summary>One call to a provider: the body is already in the provider's wire format.</summary>
/// <param name="Operation">What is asked.</param>
/// <param name="Body">The request body to send (already rewritten for this provider). A provider reads it only until its answer
/// arrives: the gateway then hands the memory back (see <see cref="UpstreamResponse.ReleaseRequestBody"/>).</param>
/// <param name="Model">The provider's model id, UTF-8, unescaped.</param>
/// <param name="Stream">The caller expects an SSE stream.</param>
public readonly record struct ProviderCall(ProviderOperation Operation, ReadOnlyMemory<byte> Body, ReadOnlyMemory<byte> Model, bool Stream)
{
    /// <summary>A shorter wait for a new connection than the provider's own, for this call (zero: the provider's).</summary>
    public TimeSpan ConnectTimeout { get; init; }
    /// <summary>The trace the call continues (W3C headers for the provider); empty when nothing traces.</summary>
    public TraceHeaders Trace { get; init; }
}

/// <summary>W3C <c>traceparent</c> (and <c>tracestate</c>) for an upstream call: the attempt's span as the provider's parent.</summary>
public readonly record struct TraceHeaders(string? Traceparent, string? Tracestate);
