using Gateway.Core.Sse;
using System.Buffers;
using Gateway.Core.Errors;
using Gateway.Core.Providers;
using Gateway.Core.Threading;

namespace Gateway.Providers.Http;

/// <summary>What a translating provider does with the provider's HTTP answer, one per provider.</summary>
internal interface IAnswerTranslation
{
    /// <summary>The provider's error answer as a gateway error.</summary>
    GatewayError Error(int status, byte[] body, HttpResponseMessage response);

    /// <summary>Whether this answer is a stream to translate event by event.</summary>
    bool IsStream(HttpResponseMessage response);

    /// <summary>
    /// The provider's stream as the relay reads it: its SSE body with the stage that makes canonical
    /// frames of its events, or (a format that is not SSE) a stream of canonical frames and no stage.
    /// </summary>
    (Stream Body, IStreamTranslator? Translator) OpenStream(Stream upstream);

    /// <summary>The provider's whole answer as an OpenAI completion.</summary>
    GatewayError? Translate(byte[] answer, IBufferWriter<byte> output);
}

/// <summary>
/// The answer half of every translating provider: errors mapped, streams wrapped, whole answers
/// translated, and the HTTP objects disposed exactly when nothing reads from them any more.
/// </summary>
internal static class TranslatedAnswer
{
    private const int MaxErrorBody = 1024 * 1024;
    private const int MaxBody = 64 * 1024 * 1024;
    private const int LargeAnswer = 64 * 1024;

    public static async ValueTask<UpstreamResult> ReadAsync(HttpRequestMessage request, HttpResponseMessage response, IAnswerTranslation translation,
        string provider, string? requestIdHeader, CancellationToken cancellationToken)
    {
        bool handedOver = false;
        try
        {
            int status = (int)response.StatusCode;
            if (status is < 200 or >= 300)
            {
                var errorBody = await UpstreamHttp.ReadBoundedAsync(response.Content, MaxErrorBody, truncate: true, cancellationToken).ConfigureAwait(false);
                return UpstreamResult.Fail(translation.Error(status, errorBody, response));
            }
            string? requestId = requestIdHeader is null ? null : UpstreamHttp.Header(response, requestIdHeader);
            if (translation.IsStream(response))
            {
                var upstream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                handedOver = true; // the relay owns them now, until it disposes the UpstreamResponse
                var (body, translator) = translation.OpenStream(upstream);
                return UpstreamResult.Ok(new UpstreamResponse(200, "text/event-stream", null, body, new ResponseOwner(request, response))
                {
                    RequestId = requestId, Translator = translator,
                });
            }
            var answer = await UpstreamHttp.ReadBoundedAsync(response.Content, MaxBody, truncate: false, cancellationToken).ConfigureAwait(false);
            // The read may have completed inline on a socket's epoll thread: a large answer is
            // translated on the thread pool rather than holding that thread.
            if (answer.Length > LargeAnswer) await IoThread.Leave();
            var output = new ArrayBufferWriter<byte>(answer.Length + 256);
            if (translation.Translate(answer, output) is { } error) return UpstreamResult.Fail(error);
            var bytes = output.WrittenMemory.ToArray();
            return UpstreamResult.Ok(new UpstreamResponse(200, "application/json", bytes.Length, new MemoryStream(bytes, writable: false), null) { RequestId = requestId });
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return UpstreamResult.CanceledResult;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or System.Text.Json.JsonException)
        {
            return UpstreamResult.Fail(GatewayError.UpstreamBroken(provider, ex.Message));
        }
        finally
        {
            if (!handedOver)
            {
                response.Dispose();
                request.Dispose();
            }
        }
    }
}
