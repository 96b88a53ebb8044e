using System.Text;
using Gateway.Core.Errors;
using Gateway.Providers.Bedrock;

namespace Gateway.Providers.Tests.Bedrock;

public class BedrockErrorsTests
{
    [Theory]
    [InlineData("""{"message":"Input is too long for requested model."}""", "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/", UpstreamFailureKind.ContextLength)]
    [InlineData("""{"message":"prompt is too long: 210000 tokens > 200000 maximum"}""", "ValidationException", UpstreamFailureKind.ContextLength)]
    [InlineData("""{"message":"This model's maximum context length is 128000 tokens. Please reduce the length of the prompt."}""", "ValidationException", UpstreamFailureKind.ContextLength)]
    [InlineData("""{"message":"The provided model identifier is invalid."}""", "ValidationException", UpstreamFailureKind.Other)]
    [InlineData("""{"message":"Too many requests, please wait before trying again."}""", "ThrottlingException", UpstreamFailureKind.Other)]
    public void FromResponse_RecognisesAnInputOverTheModelsLimit(string body, string errorType, UpstreamFailureKind kind)
    {
        int status = errorType.StartsWith("Throttling", StringComparison.Ordinal) ? 429 : 400;
        Assert.Equal(kind, BedrockErrors.FromResponse("bedrock", status, Encoding.UTF8.GetBytes(body), errorType).Kind);
    }
}
