using System.Net;
using System.Runtime.InteropServices;

namespace Gateway.Core.Providers;

/// <summary>
/// A provider request's body, sent from memory the gateway rented. Unlike <see cref="ReadOnlyMemoryContent"/>
/// it can give that memory back while the answer is still being read: a stream held open for minutes
/// need not hold its request's bytes. It gives them back only once the transport is done with them:
/// an HTTP/2 upstream may still be sending the body when the answer's headers arrive.
/// </summary>
public sealed class UpstreamBodyContent(ReadOnlyMemory<byte> body) : HttpContent
{
    private ReadOnlyMemory<byte> _body = body;
    private readonly long _length = body.Length;
    private IDisposable? _released;
    // Sends of the body in flight; and 1 once the owner asked for the memory back. A send reads the
    // request after counting itself, the owner reads the count after asking: one of them sees the other.
    private int _sending, _releaseAsked, _releasedOnce;

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _sending);
        try
        {
            // Only a transport that starts sending after the answer arrived gets here: it must not send
            // memory that may already hold another request's bytes.
            if (Volatile.Read(ref _releaseAsked) != 0) throw new InvalidOperationException("The request body was released after the answer arrived; it cannot be sent again.");
            await stream.WriteAsync(_body, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (Interlocked.Decrement(ref _sending) == 0 && Volatile.Read(ref _releaseAsked) != 0) ReleaseNow();
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _length;
        return true;
    }

    protected override Stream CreateContentReadStream(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _releaseAsked) != 0) throw new InvalidOperationException("The request body was released after the answer arrived.");
        return MemoryMarshal.TryGetArray(_body, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(_body.ToArray(), writable: false);
    }

    protected override Task<Stream> CreateContentReadStreamAsync() => Task.FromResult(CreateContentReadStream(CancellationToken.None));

    /// <summary>
    /// The owner has no more use for the body (the answer arrived; a retry writes a body of its own):
    /// <paramref name="released"/> is disposed once no send of it is in flight, now or when the last one ends.
    /// </summary>
    public void Release(IDisposable released)
    {
        _released = released;
        Interlocked.Exchange(ref _releaseAsked, 1);
        if (Volatile.Read(ref _sending) == 0) ReleaseNow();
    }

    /// <summary>True once the body's memory was handed back.</summary>
    public bool Released => Volatile.Read(ref _releasedOnce) != 0;

    private void ReleaseNow()
    {
        if (Interlocked.Exchange(ref _releasedOnce, 1) != 0) return;
        _body = default;
        _released?.Dispose();
    }
}
