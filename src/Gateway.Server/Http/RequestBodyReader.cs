using System.Buffers;
using Gateway.Core.Errors;
using Microsoft.AspNetCore.Http;

namespace Gateway.Server.Http;

/// <summary>Reads a request body into pooled memory, refusing it as soon as it passes the limit.</summary>
internal static class RequestBodyReader
{
    public static async ValueTask<(PooledBody? Body, GatewayError? Error)> ReadAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        long? declared = request.ContentLength;
        if (declared > limit) return (null, GatewayError.BodyTooLarge(limit)); // refuse before reading a byte
        // Never trust a declared length to size a buffer beyond what we accept anyway.
        var body = new PooledBody((int)Math.Min(declared ?? 16 * 1024, Math.Min(limit, int.MaxValue - 64)) + 1);
        try
        {
            // Straight from Kestrel's pipe: no stream wrapper, one copy into the pooled buffer.
            var reader = request.BodyReader;
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = result.Buffer;
                if (body.Length + buffer.Length > limit)
                {
                    reader.AdvanceTo(buffer.End);
                    body.Dispose();
                    return (null, GatewayError.BodyTooLarge(limit));
                }
                if (!buffer.IsEmpty)
                {
                    buffer.CopyTo(body.GetFree((int)buffer.Length).Span);
                    body.Advance((int)buffer.Length);
                }
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted) return (body, null);
            }
        }
        catch (BadHttpRequestException ex)
        {
            body.Dispose();
            return (null, new GatewayError(ex.StatusCode, "invalid_request_error", "bad_request_body", $"The request body could not be read: {ex.Message}", ErrorSource.Client));
        }
        catch
        {
            body.Dispose();
            throw;
        }
    }
}
