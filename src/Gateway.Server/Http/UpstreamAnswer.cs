using Gateway.Core.Errors;
using Gateway.Core.Providers;

namespace Gateway.Server.Http;

/// <summary>Reads a whole non-stream answer into pooled memory before a byte of it goes to the client.</summary>
internal static class UpstreamAnswer
{
    /// <summary>A non-stream answer larger than this is a broken upstream, not an answer.</summary>
    public const int MaxBytes = 256 * 1024 * 1024;

    /// <returns>The body; or an error to answer with; or neither when the client went away.</returns>
    public static async ValueTask<(PooledBody? Body, GatewayError? Error)> ReadAllAsync(UpstreamResponse upstream, UpstreamDeadline deadline, string provider)
    {
        // Reading it all first means a provider that breaks off halfway still gets an honest 502
        // instead of a truncated 200.
        var body = new PooledBody((int)Math.Min(upstream.ContentLength ?? 8 * 1024, MaxBytes) + 1);
        try
        {
            while (true)
            {
                int read = await upstream.Body.ReadAsync(body.GetFree(8 * 1024), deadline.Token).ConfigureAwait(false);
                if (read == 0) return (body, null);
                body.Advance(read);
                if (body.Length > MaxBytes)
                {
                    body.Dispose();
                    return (null, GatewayError.UpstreamBroken(provider, $"the answer exceeded {MaxBytes} bytes"));
                }
            }
        }
        catch (OperationCanceledException) when (deadline.Token.IsCancellationRequested)
        {
            body.Dispose();
            return deadline.ClientGone ? (null, null) : (null, GatewayError.UpstreamTimeout(provider, "finish the answer", deadline.Expired ?? TimeSpan.Zero));
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or ObjectDisposedException)
        {
            body.Dispose();
            return (null, GatewayError.UpstreamBroken(provider, ex.Message));
        }
    }
}
