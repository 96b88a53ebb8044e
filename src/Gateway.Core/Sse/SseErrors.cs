using System.IO.Pipelines;

namespace Gateway.Core.Sse;

/// <summary>What counts as "the upstream broke" and "the client went away" while streaming.</summary>
public static class SseErrors
{
    public static bool IsUpstreamFailure(Exception ex) =>
        ex is IOException or OperationCanceledException or System.Net.Http.HttpRequestException or ObjectDisposedException;

    /// <summary>Flushes to the client; false when it is gone.</summary>
    public static async ValueTask<bool> FlushAsync(PipeWriter client, CancellationToken cancellationToken)
    {
        try
        {
            var result = await client.FlushAsync(cancellationToken).ConfigureAwait(false);
            return !result.IsCompleted && !result.IsCanceled;
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            return false;
        }
    }
}
