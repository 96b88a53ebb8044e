using System.Text;
using Gateway.Core.Caching;

namespace Gateway.Core.Tests.Caching;

public class CompletionAccumulatorTests
{
    private static CompletionAccumulator Fed(int max, params string[] chunks)
    {
        var accumulator = new CompletionAccumulator(max);
        foreach (var chunk in chunks) accumulator.Add(Encoding.UTF8.GetBytes($"data: {chunk}\n\n"));
        return accumulator;
    }

    [Fact]
    public void TextThinkingToolCallFragmentsAndUsage_AddUpToTheCompletion()
    {
        var completion = Fed(1 << 20,
            """{"id":"c1","created":7,"model":"m","system_fingerprint":"fp","choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning_content":"think"},"finish_reason":null}]}""",
            """{"id":"c1","created":7,"model":"m","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}""",
            """{"id":"c1","created":7,"model":"m","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}]}""",
            """{"id":"c1","created":7,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\""}}]},"finish_reason":null}]}""",
            """{"id":"c1","created":7,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]},"finish_reason":"tool_calls"}]}""",
            """{"id":"c1","created":7,"model":"m","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}""",
            "[DONE]").Build()!;
        Assert.Equal(("c1", 7L, "m", "fp"), (completion.Id, completion.Created, completion.Model, completion.SystemFingerprint));
        var choice = Assert.Single(completion.Choices);
        Assert.Equal(("Hello", "think", "tool_calls"), (choice.Message.Text, choice.Message.ReasoningContent, choice.FinishReason));
        var call = Assert.Single(choice.Message.ToolCalls!);
        Assert.Equal(("call_1", "f", "{\"a\":1}"), (call.Id, call.Function.Name, call.Function.Arguments));
        Assert.Equal(8, completion.Usage!.TotalTokens);
    }

    [Fact]
    public void SeveralChoices_EachKeepsItsOwn()
    {
        var completion = Fed(1 << 20,
            """{"id":"c","choices":[{"index":1,"delta":{"content":"B"},"finish_reason":null},{"index":0,"delta":{"content":"A"},"finish_reason":null}]}""",
            """{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"},{"index":1,"delta":{},"finish_reason":"length"}]}""").Build()!;
        Assert.Equal([(0, "A", "stop"), (1, "B", "length")], completion.Choices.Select(c => (c.Index, c.Message.Text, c.FinishReason!)));
    }

    [Fact]
    public void AStreamWithoutAFinish_OrPastTheBound_OrWithABrokenChunk_BuildsNothing()
    {
        Assert.Null(Fed(1 << 20, """{"id":"c","choices":[{"index":0,"delta":{"content":"A"},"finish_reason":null}]}""").Build());
        var big = Fed(100, """{"id":"c","choices":[{"index":0,"delta":{"content":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},"finish_reason":null}]}""",
            """{"id":"c","choices":[{"index":0,"delta":{"content":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},"finish_reason":"stop"}]}""");
        Assert.True(big.Abandoned);
        Assert.Null(big.Build());
        Assert.Null(Fed(1 << 20, "{not json", """{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}""").Build());
    }
}
