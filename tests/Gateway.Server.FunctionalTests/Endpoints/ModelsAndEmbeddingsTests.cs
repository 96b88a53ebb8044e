using System.Net;
using System.Text.Json;
using Gateway.Server.FunctionalTests.Infrastructure;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Endpoints;

public class ModelsAndEmbeddingsTests(SharedGateway shared) : IClassFixture<SharedGateway>
{
    private HttpClient Client => shared.Gateway.Client;

    [Fact]
    public async Task Models_ListsAliasesMockAndUpstreamModels()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        request.Headers.Authorization = new("Bearer", MasterKey);
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var root = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("list", root.GetProperty("object").GetString());
        var ids = root.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToArray();
        Assert.Contains("fast", ids);
        Assert.Contains("mock/echo", ids);
        Assert.Contains("openai/gpt-test", ids);   // asked from the upstream's /models
        Assert.Contains("dead/any", ids);          // configured list, no upstream call needed
        Assert.All(root.GetProperty("data").EnumerateArray(), m => Assert.Equal("model", m.GetProperty("object").GetString()));
    }

    [Fact]
    public async Task Models_WithoutKey_401()
    {
        using var response = await Client.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Embeddings_PassThroughWithBareModel()
    {
        string tag = "e" + Guid.NewGuid().ToString("N")[..8];
        using var response = await Client.SendAsync(Post("/v1/embeddings", $"{{\"model\":\"openai/text-embedding-test\",\"input\":\"{tag}\"}}"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var root = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(0.6f, root.GetProperty("data")[0].GetProperty("embedding")[0].GetSingle());
        var record = Assert.Single(shared.Upstream.Matching(tag));
        Assert.Equal("/v1/embeddings", record.Path);
        Assert.Contains("\"model\":\"text-embedding-test\"", record.Body);
    }

    [Fact]
    public async Task Embeddings_BedrockTitan_OneSignedInvokePerInput()
    {
        string tag = "b" + Guid.NewGuid().ToString("N")[..8];
        using var response = await Client.SendAsync(Post("/v1/embeddings", $"{{\"model\":\"aws/amazon.titan-embed-text-v2:0\",\"input\":[\"{tag} one\",\"{tag} two\"]}}"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var root = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(2, root.GetProperty("data").GetArrayLength());
        Assert.Equal(-0.5f, root.GetProperty("data")[1].GetProperty("embedding")[1].GetSingle());
        Assert.Equal(6, root.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(2, shared.Upstream.Matching(tag).Length);
    }

    [Fact]
    public async Task Embeddings_Mock_AnswersAndMissingInputIs400()
    {
        using var ok = await Client.SendAsync(Post("/v1/embeddings", "{\"model\":\"mock/embedding\",\"input\":[\"a\",\"b\"]}"));
        Assert.Equal(2, JsonDocument.Parse(await ok.Content.ReadAsStringAsync()).RootElement.GetProperty("data").GetArrayLength());
        using var bad = await Client.SendAsync(Post("/v1/embeddings", "{\"model\":\"mock/embedding\"}"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task HealthAndReady_AnswerWithoutKey()
    {
        using var health = await Client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        using var ready = await Client.GetAsync("/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Contains("config_version", await ready.Content.ReadAsStringAsync());
    }
}
