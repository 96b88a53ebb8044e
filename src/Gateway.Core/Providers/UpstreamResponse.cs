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

    public bool IsEventStream => ContentType is not null && ContentType.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase);

    public void Dispose()
    {
        Body.Dispose();
        owner?.Dispose();
    }
}
