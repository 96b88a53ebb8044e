using System.Text;
using Gateway.Core.Json;
using Gateway.Core.Sse;

namespace Gateway.Core.Tests.Json;

public class AnswerUsageTests
{
    private static TokenUsage? Read(string json) => AnswerUsage.TryRead(Encoding.UTF8.GetBytes(json), out var usage) ? usage : null;

    [Fact]
    public void ChatCompletion_UsageAtTheEnd_WithDetails() =>
        Assert.Equal(new TokenUsage(12, 7, 19, 3, 5), Read("""
            {"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"hi"}}],
             "usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19,"prompt_tokens_details":{"cached_tokens":3},"completion_tokens_details":{"reasoning_tokens":5}}}
            """));

    [Fact]
    public void OnlyTheTopLevelUsageCounts_NotOneInsideTheContentOrANestedObject() =>
        Assert.Equal(new TokenUsage(1, 2, 3, 0, 0), Read("""
            {"choices":[{"message":{"content":"\"usage\":{\"prompt_tokens\":999}","extra":{"usage":{"prompt_tokens":555}}}}],"usage":{"prompt_tokens":1,"completion_tokens":2}}
            """));

    [Fact]
    public void Embeddings_PromptOnly() =>
        Assert.Equal(new TokenUsage(4, 0, 4, 0, 0), Read("""{"object":"list","data":[{"embedding":[0.1,0.2]}],"usage":{"prompt_tokens":4,"total_tokens":4}}"""));

    [Fact]
    public void UsageFollowedByMoreTopLevelFields_AsOpenAISendsIt()
    {
        Assert.Equal(new TokenUsage(9, 3, 12, 1, 0), Read("""{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":1}},"service_tier":"default","system_fingerprint":"fp_}\"{x","n":[1,{"a":2}]}"""));
        // The last "usage" closes a parent before the end: it is nested, and the top-level one counts.
        Assert.Equal(new TokenUsage(1, 1, 2, 0, 0), Read("""{"usage":{"prompt_tokens":1,"completion_tokens":1},"extra":{"usage":{"prompt_tokens":50}},"z":1}"""));
    }

    [Fact]
    public void UsageFirst_OrPrettyPrinted_IsFoundAllTheSame()
    {
        Assert.Equal(new TokenUsage(5, 6, 11, 0, 0), Read("""{"usage":{"prompt_tokens":5,"completion_tokens":6},"choices":[{"message":{"content":"x"}}]}"""));
        Assert.Equal(new TokenUsage(5, 6, 11, 0, 0), Read("{\n  \"choices\": [],\n  \"usage\" : {\n    \"prompt_tokens\": 5,\n    \"completion_tokens\": 6\n  }\n}\n"));
    }

    [Theory]
    [InlineData("""{"choices":[],"extra":{"usage":{"prompt_tokens":5}}}""")]
    [InlineData("""{"choices":[]}""")]
    [InlineData("""{"usage":null}""")]
    [InlineData("""{"usage":{"prompt_tokens":1""")]
    [InlineData("""[{"usage":{"prompt_tokens":1}}]""")]
    [InlineData("not json \"usage\"")]
    public void NoUsableUsage_IsNone(string json) => Assert.Null(Read(json));
}
