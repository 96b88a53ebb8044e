using System.Text;
using Gateway.Core.Errors;
using Gateway.Providers.Anthropic;

namespace Gateway.Providers.Tests.Anthropic;

public class AnthropicUpstreamErrorsTests
{
    [Theory]
    [InlineData(400, """{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}""", UpstreamFailureKind.ContextLength)]
    [InlineData(400, """{"type":"error","error":{"type":"invalid_request_error","message":"input length and `max_tokens` exceed context limit: 198000 + 8192 > 200000, decrease input length or `max_tokens` and try again"}}""", UpstreamFailureKind.ContextLength)]
    [InlineData(413, """{"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum allowed number of bytes."}}""", UpstreamFailureKind.Other)] // bytes, not tokens
    [InlineData(400, """{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: field required"}}""", UpstreamFailureKind.Other)]
    [InlineData(529, """{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}""", UpstreamFailureKind.Other)]
    public void FromResponse_RecognisesAPromptTooLong(int status, string body, UpstreamFailureKind kind) =>
        Assert.Equal(kind, AnthropicUpstreamErrors.FromResponse("claude", status, Encoding.UTF8.GetBytes(body), null, null).Kind);
}
