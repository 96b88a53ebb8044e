using Gateway.Server.Pipeline.Dialects;

namespace Gateway.Server.FunctionalTests.Pipeline;

/// <summary>The Gemini routes' model rule: everything between <c>models/</c> and the last <c>:</c>, percent-decoded once.</summary>
public class GeminiDialectTests
{
    [Theory]
    [InlineData("/v1beta/models/openai/gpt-4o-mini:generateContent", "openai/gpt-4o-mini", false)]
    [InlineData("/v1beta/models/openai%2Fgpt-4o-mini:streamGenerateContent?alt=sse&key=k", "openai/gpt-4o-mini", true)]
    [InlineData("/v1/models/models/openai/gpt-4o-mini:generateContent", "openai/gpt-4o-mini", false)]
    [InlineData("/v1beta/models/ollama/llama3:8b:generateContent", "ollama/llama3:8b", false)]
    [InlineData("/v1beta/models/ollama/llama3%3A8b%3AgenerateContent", "ollama/llama3:8b", false)]
    [InlineData("/v1beta/models/a%25252Fb:generateContent", "a%252Fb", false)] // decoded once, never twice
    [InlineData("/v1beta/models/fast:generateContent", "fast", false)]
    public void Target_NamesTheModelAndTheMethod(string target, string model, bool stream)
    {
        Assert.True(GeminiDialect.TryReadTarget(target, out string found, out bool streaming));
        Assert.Equal((model, stream), (found, streaming));
    }

    [Theory]
    [InlineData("/v1beta/models/openai/gpt-4o-mini:countTokens")]
    [InlineData("/v1beta/models/:generateContent")]
    [InlineData("/v1beta/openai/gpt-4o-mini:generateContent")]
    public void Target_WithoutAModelOrAServedMethod_IsNotOne(string target) => Assert.False(GeminiDialect.TryReadTarget(target, out _, out _));

    [Theory]
    [InlineData("/v1beta/models/x:generateContent", true)]
    [InlineData("/v1/models/x/y:streamGenerateContent", true)]
    [InlineData("/v1/models", false)]
    [InlineData("/v1/models/gpt-4o", false)]
    [InlineData("/v2/models/x:generateContent", false)]
    public void Matches_OnlyTheGeminiMethods(string path, bool matches) => Assert.Equal(matches, GeminiDialect.Matches(path));
}
