using System.Text;
using Gateway.Core.Errors;
using Gateway.Providers.OpenAI;

namespace Gateway.Providers.Tests.OpenAI;

public class OpenAIErrorsTests
{
    [Fact]
    public void FromResponse_OpenAIShape_KeepsStatusBodyAndRetryAfter()
    {
        var body = """{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}"""u8;
        var error = OpenAIErrors.FromResponse("openai", 429, body, "sk-x", "7");
        Assert.Equal(429, error.Status);
        Assert.Equal("Rate limit reached", error.Message);
        Assert.Equal("rate_limit_exceeded", error.Code);
        Assert.Equal(body.ToArray(), error.RawBody.ToArray());
        Assert.Contains(KeyValuePair.Create("retry-after", "7"), error.Headers);
    }

    [Fact]
    public void FromResponse_NotJson_WrapsTheTextInOpenAIShape()
    {
        var error = OpenAIErrors.FromResponse("local", 503, "<html>Service Unavailable</html>"u8, null, null);
        Assert.Equal(503, error.Status);
        Assert.Contains("<html>Service Unavailable</html>", error.Message);
        Assert.Contains("'local'", error.Message);
        Assert.True(error.RawBody.IsEmpty);
    }

    [Fact]
    public void FromResponse_BodyEchoingTheProviderKey_IsScrubbed()
    {
        var body = Encoding.UTF8.GetBytes("""{"error":{"message":"bad key sk-live-123 here","type":"invalid_request_error","code":"invalid_api_key"}}""");
        var error = OpenAIErrors.FromResponse("openai", 400, body, "sk-live-123", null);
        Assert.DoesNotContain("sk-live-123", error.Message);
        Assert.DoesNotContain("sk-live-123", Encoding.UTF8.GetString(error.RawBody.Span));
    }

    [Fact]
    public void FromResponse_Upstream401_IsA502AboutTheGatewayCredential()
    {
        var error = OpenAIErrors.FromResponse("openai", 401, """{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}"""u8, "sk-proj-abc", null);
        Assert.Equal(502, error.Status);
        Assert.Equal("upstream_auth_failed", error.Code);
        Assert.Contains("Incorrect API key provided", error.Message);
    }

    [Fact]
    public void ParseModelList_ReadsIdsSorted()
    {
        var ids = OpenAIProvider.ParseModelList("""{"object":"list","data":[{"id":"b","object":"model"},{"id":"a","object":"model"}]}"""u8);
        Assert.Equal(["a", "b"], ids);
    }

    [Theory]
    [InlineData(400, """{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}""", UpstreamFailureKind.ContextLength)]
    [InlineData(400, """{"object":"error","message":"This model's maximum context length is 8192 tokens. However, you requested 9000 tokens.","type":"BadRequestError","param":null,"code":400}""", UpstreamFailureKind.ContextLength)] // vLLM
    [InlineData(400, """{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error"}}""", UpstreamFailureKind.ContextLength)] // llama.cpp
    [InlineData(400, """{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400}}""", UpstreamFailureKind.ContentFilter)] // Azure
    [InlineData(400, """{"error":{"message":"Your request was rejected as a result of our safety system.","type":"invalid_request_error","code":"content_policy_violation"}}""", UpstreamFailureKind.ContentFilter)]
    [InlineData(400, """{"error":{"message":"Invalid value for 'temperature'.","type":"invalid_request_error","code":"invalid_value"}}""", UpstreamFailureKind.Other)]
    [InlineData(500, """{"error":{"message":"context length bookkeeping failed","type":"server_error","code":null}}""", UpstreamFailureKind.Other)] // a 5xx is a retry, not a fallback
    public void FromResponse_ClassifiesRefusalsRoutingCanFallBackOn(int status, string body, UpstreamFailureKind kind) =>
        Assert.Equal(kind, OpenAIErrors.FromResponse("p", status, Encoding.UTF8.GetBytes(body), null, null).Kind);
}
