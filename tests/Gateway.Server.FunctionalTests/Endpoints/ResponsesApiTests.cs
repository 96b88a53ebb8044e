using System.Net;
using System.Text.Json;
using Gateway.Server.FunctionalTests.Infrastructure;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Endpoints;

/// <summary>OpenAI's Responses API served by the gateway: passed through to OpenAI itself, translated for every other provider.</summary>
public class ResponsesApiTests(SharedGateway shared) : IClassFixture<SharedGateway>
{
    private HttpClient Client => shared.Gateway.Client;
    private static string Tag() => "r" + Guid.NewGuid().ToString("N")[..10];

    private static string Body(string model, string text, bool stream = false) =>
        "{\"model\":\"" + model + "\",\"instructions\":\"Be brief.\",\"input\":\"" + text + "\",\"stream\":" + (stream ? "true" : "false") + ",\"store\":false}";

    private static List<(string Type, JsonElement Data)> Events(string text) =>
        [.. text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e.Split('\n'))
            .Select(l => (l[0]["event: ".Length..], JsonDocument.Parse(l[1]["data: ".Length..]).RootElement.Clone()))];

    // "strict" is an openai-compatible provider: chat only, so the Responses call is translated.
    [Fact]
    public async Task ChatOnlyProvider_Translated_ResponseWithOutputTextAndUsage()
    {
        string tag = Tag();
        using var response = await Client.SendAsync(Post("/v1/responses", Body("strict/gpt-test", tag)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var root = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(("response", "completed"), (root.GetProperty("object").GetString(), root.GetProperty("status").GetString()));
        Assert.Equal("echo: " + tag, root.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal((10, 5, 15), (root.GetProperty("usage").GetProperty("input_tokens").GetInt32(), root.GetProperty("usage").GetProperty("output_tokens").GetInt32(),
            root.GetProperty("usage").GetProperty("total_tokens").GetInt32()));
        var record = Assert.Single(shared.Upstream.Matching(tag));
        Assert.Equal("/v1/chat/completions", record.Path);
        var sent = JsonDocument.Parse(record.Body).RootElement;
        Assert.Equal(("gpt-test", "system", "Be brief."), (sent.GetProperty("model").GetString(), sent.GetProperty("messages")[0].GetProperty("role").GetString(),
            sent.GetProperty("messages")[0].GetProperty("content").GetString()));
    }

    [Fact]
    public async Task ChatOnlyProvider_Stream_TheFullEventSequence()
    {
        string tag = Tag();
        using var response = await Client.SendAsync(Post("/v1/responses", Body("strict/gpt-test", tag, stream: true)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = Events(await response.Content.ReadAsStringAsync());
        Assert.Equal("response.created", events[0].Type);
        Assert.Equal("response.completed", events[^1].Type);
        Assert.Equal("echo: " + tag, string.Concat(events.Where(e => e.Type == "response.output_text.delta").Select(e => e.Data.GetProperty("delta").GetString())));
        Assert.Equal(15, events[^1].Data.GetProperty("response").GetProperty("usage").GetProperty("total_tokens").GetInt32());
        Assert.Equal(Enumerable.Range(0, events.Count), events.Select(e => e.Data.GetProperty("sequence_number").GetInt32()));
    }

    [Fact]
    public async Task StateTheGatewayDoesNotKeep_Is400BeforeAnyCall()
    {
        string tag = Tag();
        using var response = await Client.SendAsync(Post("/v1/responses", "{\"model\":\"strict/gpt-test\",\"input\":\"" + tag + "\",\"previous_response_id\":\"resp_1\"}"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("unsupported_parameter", error.GetProperty("code").GetString());
        Assert.Empty(shared.Upstream.Matching(tag));
    }

    [Fact]
    public async Task MissingInputOrWrongKey_AnsweredInOpenAIShape()
    {
        using var missing = await Client.SendAsync(Post("/v1/responses", "{\"model\":\"openai/gpt-test\"}"));
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Equal("missing_input", JsonDocument.Parse(await missing.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
        using var wrong = await Client.SendAsync(Post("/v1/responses", Body("openai/gpt-test", Tag()), key: "wrong"));
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
    }

    private Task<GatewayUnderTest> StartWithOpenAI() => StartAsync(shared.Upstream, configJson: """
        {
          "providers": {
            "oai": { "type": "openai", "baseUrl": "$UPSTREAM", "apiKey": "env:OPENAI_API_KEY" },
            "compat": { "type": "openai-compatible", "baseUrl": "$UPSTREAM", "apiKey": "env:OPENAI_API_KEY" }
          },
          "models": { "mixed": { "strategy": "round-robin", "deployments": [ { "provider": "oai", "model": "gpt-test" }, { "provider": "compat", "model": "gpt-test" } ] } }
        }
        """);

    [Fact]
    public async Task OpenAIProvider_ClientBytesPassThrough_OnlyTheModelRewritten_AnswerUntouched()
    {
        await using var gateway = await StartWithOpenAI();
        string tag = Tag();
        string body = "{\"model\":\"oai/gpt-test\",\"input\":[{\"role\":\"user\",\"content\":\"" + tag + "\"}],\"previous_response_id\":\"resp_0\",\"store\":true,\"tools\":[{\"type\":\"web_search\"}]}";
        using var response = await gateway.Client.SendAsync(Post("/v1/responses", body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(TestUpstream.ResponsesAnswer(tag), await response.Content.ReadAsStringAsync());
        var record = Assert.Single(shared.Upstream.Matching(tag));
        Assert.Equal("/v1/responses", record.Path);
        Assert.Equal(body.Replace("oai/gpt-test", "gpt-test", StringComparison.Ordinal), record.Body);
    }

    [Fact]
    public async Task OpenAIProvider_StreamEventsUntouched()
    {
        await using var gateway = await StartWithOpenAI();
        string tag = Tag();
        using var response = await gateway.Client.SendAsync(Post("/v1/responses", Body("oai/gpt-test", tag, stream: true)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(TestUpstream.ResponsesEvents(tag), await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task OpenAIProvider_ErrorsKeepTheirStatus()
    {
        await using var gateway = await StartWithOpenAI();
        using var response = await gateway.Client.SendAsync(Post("/v1/responses", Body("oai/gpt-test", "fault:429 " + Tag())));
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("3", response.Headers.RetryAfter?.ToString());
    }

    [Fact]
    public async Task GroupMixingOpenAIWithAChatOnlyServer_IsTranslatedForBoth()
    {
        await using var gateway = await StartWithOpenAI();
        var paths = new List<string>();
        for (int i = 0; i < 2; i++)
        {
            string tag = Tag();
            using var response = await gateway.Client.SendAsync(Post("/v1/responses", Body("mixed", tag)));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("echo: " + tag, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
            paths.Add(Assert.Single(shared.Upstream.Matching(tag)).Path);
        }
        Assert.All(paths, p => Assert.Equal("/v1/chat/completions", p));
    }

    [Fact]
    public async Task AzureProvider_PassesThroughToItsV1Surface_WithTheDeploymentAsModel()
    {
        string tag = Tag();
        string body = "{\"model\":\"az/chat-deployment\",\"input\":\"" + tag + "\",\"previous_response_id\":\"resp_0\"}";
        using var response = await Client.SendAsync(Post("/v1/responses", body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(TestUpstream.ResponsesAnswer(tag), await response.Content.ReadAsStringAsync());
        var record = Assert.Single(shared.Upstream.Matching(tag));
        Assert.Equal("/openai/v1/responses", record.Path);
        Assert.Equal(body.Replace("az/chat-deployment", "chat-deployment", StringComparison.Ordinal), record.Body);
        Assert.Equal(TestUpstream.Key, record.Headers["api-key"]);
        Assert.False(record.Headers.ContainsKey("authorization"));
    }

    [Fact]
    public async Task ResponsesApiSetting_TurnsPassthroughOffForAzure_AndOnForACompatibleServer()
    {
        await using var gateway = await StartAsync(shared.Upstream, configJson: """
            {
              "providers": {
                "az": { "type": "azure", "baseUrl": "$UPSTREAM_ROOT", "apiKey": "env:OPENAI_API_KEY", "responsesApi": false },
                "vllm": { "type": "openai-compatible", "baseUrl": "$UPSTREAM", "apiKey": "env:OPENAI_API_KEY", "responsesApi": true }
              }
            }
            """);
        string azureTag = Tag(), vllmTag = Tag();
        using var azure = await gateway.Client.SendAsync(Post("/v1/responses", Body("az/chat-deployment", azureTag)));
        Assert.Equal(HttpStatusCode.OK, azure.StatusCode);
        Assert.StartsWith("/openai/deployments/chat-deployment/chat/completions?api-version=", Assert.Single(shared.Upstream.Matching(azureTag)).Path, StringComparison.Ordinal);
        using var vllm = await gateway.Client.SendAsync(Post("/v1/responses", Body("vllm/gpt-test", vllmTag)));
        Assert.Equal(HttpStatusCode.OK, vllm.StatusCode);
        Assert.Equal("/v1/responses", Assert.Single(shared.Upstream.Matching(vllmTag)).Path);
    }
}
