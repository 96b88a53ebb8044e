using System.Text;
using Gateway.Core.Providers;
using Gateway.Providers.Azure;

namespace Gateway.Providers.Tests.Azure;

public class AzureEndpointsTests
{
    [Fact]
    public void DeploymentNamesAClientInvents_DoNotGrowTheCache()
    {
        var endpoints = new AzureEndpoints("https://example.openai.azure.com/", "2024-10-21", "k");
        for (int i = 0; i < 50_000; i++)
        {
            var uri = endpoints.For(ProviderOperation.ChatCompletions, Encoding.UTF8.GetBytes($"invented-{i}"));
            Assert.EndsWith($"/openai/deployments/invented-{i}/chat/completions?api-version=2024-10-21", uri.AbsoluteUri, StringComparison.Ordinal);
        }
        Assert.InRange(endpoints.CachedUris, 1, AzureEndpoints.MaxCachedUris);
        // A name seen before is still served from the cache (the same instance).
        var first = endpoints.For(ProviderOperation.ChatCompletions, "invented-0"u8);
        Assert.Same(first, endpoints.For(ProviderOperation.ChatCompletions, "invented-0"u8));
    }
}
