using System.Text;
using Gateway.Core.Routing;

namespace Gateway.Core.Tests.Routing;

public class PromptTokensTests
{
    [Fact]
    public void CountText_UsesTheO200kVocabulary()
    {
        Assert.Equal(2, PromptTokens.CountText("hello world"));
        Assert.Equal(0, PromptTokens.CountText(""));
        // Not a byte count: 44 bytes of common English make 10 tokens.
        Assert.Equal(10, PromptTokens.CountText("The quick brown fox jumps over the lazy dog."));
    }

    [Fact]
    public void Chat_CountsRolesContentAndTheChatFormat()
    {
        // OpenAI's own recipe: 3 per message, the role and content tokens, 3 to prime the answer.
        var (prompt, max) = PromptTokens.Count("""{"model":"gpt-4o","messages":[{"role":"user","content":"hello world"}]}"""u8);
        Assert.Equal(3 + 1 + 2 + 3, prompt);
        Assert.Equal(0, max);

        (prompt, _) = PromptTokens.Count("""{"model":"gpt-4o","messages":[{"role":"system","content":"hello world"},{"role":"user","content":[{"type":"text","text":"hello world"}]}]}"""u8);
        Assert.Equal(2 * (3 + 1 + 2) + 3, prompt);
    }

    [Fact]
    public void Chat_EscapedTextCountsAsItsCharacters()
    {
        var (escaped, _) = PromptTokens.Count("""{"messages":[{"role":"user","content":"caf\u00e9 \"au\" lait"}]}"""u8);
        var (plain, _) = PromptTokens.Count(Encoding.UTF8.GetBytes("""{"messages":[{"role":"user","content":"café \"au\" lait"}]}"""));
        Assert.Equal(plain, escaped);
        Assert.Equal(3 + 1 + PromptTokens.CountText("café \"au\" lait") + 3, plain);
    }

    [Theory]
    [InlineData("max_tokens")]
    [InlineData("max_completion_tokens")]
    [InlineData("max_output_tokens")]
    public void MaxOutput_IsReadFromEachSpelling(string name)
    {
        var (_, max) = PromptTokens.Count(Encoding.UTF8.GetBytes($$"""{"{{name}}":1234,"messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(1234, max);
    }

    [Fact]
    public void Images_CountFlatAndTheirBytesDoNot()
    {
        string base64 = Convert.ToBase64String(new byte[90_000]);
        var body = Encoding.UTF8.GetBytes($$$"""{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,{{{base64}}}","detail":"high"}}]}]}""");
        var (prompt, _) = PromptTokens.Count(body);
        Assert.Equal(3 + 1 + PromptTokens.PerImage + 3, prompt);

        var anthropic = Encoding.UTF8.GetBytes($$$"""{"system":"be brief","messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"{{{base64}}}"}}]}]}""");
        (prompt, _) = PromptTokens.Count(anthropic);
        Assert.Equal(PromptTokens.CountText("be brief") + 3 + 1 + PromptTokens.PerImage + 3, prompt);
    }

    [Fact]
    public void ToolsAndEmbeddingInput_Count_MetadataDoesNot()
    {
        var (withTools, _) = PromptTokens.Count("""{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather for a city"}}]}"""u8);
        var (without, _) = PromptTokens.Count("""{"messages":[{"role":"user","content":"hi"}],"user":"someone with a long identifier","metadata":{"k":"a long value that is not prompt"}}"""u8);
        Assert.Equal(3 + 1 + 1 + 3, without);
        Assert.True(withTools > without + 5, $"{withTools} vs {without}");

        var (input, _) = PromptTokens.Count("""{"model":"e","input":["hello world","hello world"]}"""u8);
        Assert.Equal(4, input);
    }

    [Fact]
    public void NotJson_FallsBackToFourBytesAToken()
    {
        var (prompt, max) = PromptTokens.Count("""{"messages":[{"role":"user","content":"hi"}"""u8); // cut short
        Assert.Equal(0, max);
        Assert.True(prompt > 0);
        var notJson = "not json at all, and forty bytes long..."u8;
        Assert.Equal(40, notJson.Length);
        Assert.Equal(10, PromptTokens.Count(notJson).Prompt);
    }

    [Fact]
    public void HugeText_BeyondTheExactBudgetIsExtrapolatedFromWhatWasCounted()
    {
        // "international " is one token per 14 characters: a byte estimate would say 3.5.
        string text = string.Concat(Enumerable.Repeat("international ", 50_000)); // 700 KB
        var body = Encoding.UTF8.GetBytes($$"""{"messages":[{"role":"user","content":"{{text}}"}]}""");
        var (prompt, _) = PromptTokens.Count(body);
        Assert.InRange(prompt, 49_000, 51_000);

        // Several messages: the budget runs out part-way, the rest follows the same ratio.
        string many = string.Join(",", Enumerable.Repeat("""{"role":"user","content":"hello world hello world"}""", 5_000));
        (prompt, _) = PromptTokens.Count(Encoding.UTF8.GetBytes($$"""{"messages":[{{many}}]}"""));
        Assert.InRange(prompt, 5_000 * (3 + 1 + 4) * 0.9, 5_000 * (3 + 1 + 4) * 1.1);
    }

    [Fact]
    public void RoutingRequest_CountsOnlyWhenAsked_AndTakesMaxTokensAsTheOutput()
    {
        var body = """{"model":"g","max_tokens":1000,"messages":[{"role":"user","content":"hello world"}]}"""u8;
        var cheap = RoutingRequest.For(body);
        Assert.Equal(body.Length / 4, cheap.EstimatedPromptTokens);
        Assert.Equal(RoutingRequest.DefaultOutputTokens, cheap.ExpectedOutputTokens);
        var counted = RoutingRequest.For(body, countTokens: true);
        Assert.Equal(9, counted.EstimatedPromptTokens);
        Assert.Equal(1000, counted.ExpectedOutputTokens);
        Assert.Equal(1009, counted.TotalTokens);
    }
}
