using System.Text;
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
}
