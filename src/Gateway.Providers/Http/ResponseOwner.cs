using Gateway.Core.Providers;

namespace Gateway.Providers.Http;

/// <summary>Keeps an upstream request and response alive for as long as their body is being read.</summary>
internal sealed class ResponseOwner(HttpRequestMessage request, HttpResponseMessage response) : IDisposable, IRequestBodyHolder
{
    /// <summary>Only a body sent as <see cref="UpstreamBodyContent"/> can tell when the transport is done with it; any other is kept.</summary>
    public void ReleaseRequestBody(IDisposable released)
    {
        if (request.Content is UpstreamBodyContent body) body.Release(released);
    }

    public void Dispose()
    {
        response.Dispose();
        request.Dispose();
    }
}
