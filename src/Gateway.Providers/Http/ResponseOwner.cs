namespace Gateway.Providers.Http;

/// <summary>Keeps an upstream request and response alive for as long as their body is being read.</summary>
internal sealed class ResponseOwner(HttpRequestMessage request, HttpResponseMessage response) : IDisposable
{
    public void Dispose()
    {
        response.Dispose();
        request.Dispose();
    }
}
