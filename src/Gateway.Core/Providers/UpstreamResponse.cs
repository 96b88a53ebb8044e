namespace Gateway.Core.Providers;

/// <summary>A provider's successful answer whose body has not been read yet.</summary>
public sealed class UpstreamResponse(int status, string? contentType, long? contentLength, Stream body, IDisposable? owner) : IDisposable
{
    public int Status { get; } = status;
    public string? ContentType { get; } = contentType;
    public long? ContentLength { get; } = contentLength;
    public Stream Body { get; } = body;
    /// <summary>The provider's own request id, passed on as <c>x-upstream-request-id</c>.</summary>
    public string? RequestId { get; init; }

    /// <summary>
    /// For a stream whose events are not canonical: the stage that makes canonical frames of them, run
    /// in the gateway's relay loop (the first stage of its <see cref="Sse.FrameChain"/>); null when the
    /// body's frames are canonical already.
    /// </summary>
    public Sse.IStreamTranslator? Translator { get; init; }

    /// <summary>
    /// The gateway has no more use for the request's body (the answer is here; a retry writes its own):
    /// <paramref name="released"/> is disposed once the transport is done with the bytes too, which may be now.
    /// It never runs when the answer's owner cannot tell (the body is then kept until the answer is disposed).
    /// </summary>
    public void ReleaseRequestBody(IDisposable released)
    {
        if (owner is IRequestBodyHolder holder) holder.ReleaseRequestBody(released);
        // No owner: the provider answered from memory, or its upstream request is over already.
        else if (owner is null) released.Dispose();
    }

    public bool IsEventStream => ContentType is not null && ContentType.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase);

    public void Dispose()
    {
        Body.Dispose();
        owner?.Dispose();
    }
}

/// <summary>Keeps an answer's upstream request alive, and can hand that request's body back early.</summary>
public interface IRequestBodyHolder
{
    /// <summary>See <see cref="UpstreamResponse.ReleaseRequestBody"/>.</summary>
    void ReleaseRequestBody(IDisposable released);
}
