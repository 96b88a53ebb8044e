using System.Text;
using Gateway.Core.Errors;
using Gateway.Providers.Gemini;

namespace Gateway.Providers.Tests.Gemini;

public class GeminiUpstreamErrorsTests
{
    [Theory]
    [InlineData(400, """{"error":{"code":400,"message":"The input token count (1048577) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}""", UpstreamFailureKind.ContextLength)]
    [InlineData(400, """{"error":{"code":400,"message":"* GenerateContentRequest.contents: contents is not specified","status":"INVALID_ARGUMENT"}}""", UpstreamFailureKind.Other)]
    [InlineData(429, """{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}""", UpstreamFailureKind.Other)]
    public void FromResponse_RecognisesAnInputOverTheModelsTokens(int status, string body, UpstreamFailureKind kind) =>
        Assert.Equal(kind, GeminiUpstreamErrors.FromResponse("gemini", status, Encoding.UTF8.GetBytes(body), null).Kind);
}
