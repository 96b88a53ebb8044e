using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Core.Config;
using Gateway.Policies.Pii;

namespace Gateway.Policies.Tests.Pii;

public class PiiRequestRedactorTests
{
    private static (PolicyOutcome Outcome, string Json) Run(string json, PiiMode mode = PiiMode.Mask, PiiKinds kinds = PiiKinds.All, PolicyContext? context = null)
    {
        var output = new ArrayBufferWriter<byte>();
        var outcome = new PiiRequestRedactor(mode, kinds).Call(PolicyHooks.OnRequest, Encoding.UTF8.GetBytes(json), context ?? new PolicyContext("m"), output);
        return (outcome, Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Fact]
    public void NothingToRedact_IsUnchanged_AndWritesNothing()
    {
        var (outcome, json) = Run("""{"model":"m","messages":[{"role":"user","content":"Summarise 3 points about gateways: latency, bursts."}]}""");
        Assert.Equal(PolicyOutcomeKind.Unchanged, outcome.Kind);
        Assert.Equal("", json);
    }

    [Fact]
    public void RedactsEveryPlaceTheClientWrites_AndCopiesTheRestByteForByte()
    {
        string request = """
            {"model":"m", "temperature":0.2,
             "messages":[
               {"role":"system","content":"mail ann@example.org"},
               {"role":"user","content":[{"type":"text","text":"card 4111 1111 1111 1111"},{"type":"image_url","image_url":{"url":"https://x/a@b.io.png"}}]},
               {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"send","arguments":"{\"to\":\"bob@example.org\"}"}}]},
               {"role":"tool","tool_call_id":"c1","content":"sent to 192.168.1.20"}],
             "metadata":{"owner":"eve@example.org"}}
            """;
        var (outcome, json) = Run(request);
        Assert.Equal(PolicyOutcomeKind.Changed, outcome.Kind);
        using var doc = JsonDocument.Parse(json);
        var messages = doc.RootElement.GetProperty("messages");
        Assert.Equal("mail [EMAIL]", messages[0].GetProperty("content").GetString());
        Assert.Equal("card [CARD]", messages[1].GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal("""{"to":"[EMAIL]"}""", messages[2].GetProperty("tool_calls")[0].GetProperty("function").GetProperty("arguments").GetString());
        Assert.Equal("sent to [IP]", messages[3].GetProperty("content").GetString());
        // What the client did not write as conversation is not the redactor's: a URL and metadata stay.
        Assert.Contains("https://x/a@b.io.png", json, StringComparison.Ordinal);
        Assert.Contains("eve@example.org", json, StringComparison.Ordinal);
        // Everything between the rewritten strings is the client's own bytes (spacing and order kept).
        Assert.StartsWith("{\"model\":\"m\", \"temperature\":0.2,\n", json, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"model":"e","input":"ann@example.org"}""", """{"model":"e","input":"[EMAIL]"}""")]
    [InlineData("""{"model":"e","input":["plain","ann@example.org",[1,2],7]}""", """{"model":"e","input":["plain","[EMAIL]",[1,2],7]}""")]
    public void EmbeddingsInput_IsRedacted(string request, string expected)
    {
        var (outcome, json) = Run(request);
        Assert.Equal(PolicyOutcomeKind.Changed, outcome.Kind);
        Assert.Equal(expected, json);
    }

    [Fact]
    public void EscapedText_IsReadDecoded_AndWrittenBackAsValidJson()
    {
        // \u0040 is '@': an email hidden behind escapes is still an email.
        var (outcome, json) = Run("""{"messages":[{"role":"user","content":"\"quoted\"\tann\u0040example.org \\ caf\u00e9 \ud83d\ude00 \u0001"}]}""");
        Assert.Equal(PolicyOutcomeKind.Changed, outcome.Kind);
        using var doc = JsonDocument.Parse(json);
        Assert.Equal("\"quoted\"\t[EMAIL] \\ café 😀 \u0001", doc.RootElement.GetProperty("messages")[0].GetProperty("content").GetString());
    }

    [Fact]
    public void LoneSurrogate_IsWrittenEscaped_NotReplaced()
    {
        var (_, json) = Run("""{"messages":[{"role":"user","content":"ann@example.org \ud800 end"}]}""");
        Assert.Contains("\\ud800", json, StringComparison.Ordinal);
    }

    [Fact]
    public void DuplicateKeys_AreAllRedacted_SoNoParserChoiceLetsOneThrough()
    {
        var (_, json) = Run("""{"messages":[{"role":"user","content":"a@example.org","content":"b@example.org"}],"messages":[{"content":[{"text":"c@example.org","type":"text","text":"d@example.org"}]}]}""");
        Assert.DoesNotContain("example.org", json, StringComparison.Ordinal);
    }

    [Fact]
    public void TextOfAnyPart_IsRedacted_WhateverItsTypeSays()
    {
        var (_, json) = Run("""{"messages":[{"role":"user","content":[{"type":"input_text","text":"a@example.org"}]}]}""");
        Assert.DoesNotContain("a@example.org", json, StringComparison.Ordinal);
    }

    [Fact]
    public void DeeplyNestedTools_DoNotHideTheMessages()
    {
        string schema = string.Concat(Enumerable.Repeat("{\"a\":", 200)) + "1" + new string('}', 200);
        var (outcome, json) = Run("{\"tools\":[" + schema + "],\"messages\":[{\"role\":\"user\",\"content\":\"ann@example.org\"}]}");
        Assert.Equal(PolicyOutcomeKind.Changed, outcome.Kind);
        Assert.DoesNotContain("ann@example.org", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Placeholders_GoToTheRequestsVault()
    {
        var context = new PolicyContext("m");
        var (_, json) = Run("""{"messages":[{"role":"user","content":"ann@a.org then ann@a.org and bob@b.org"}]}""", PiiMode.Placeholder, context: context);
        Assert.Contains("[EMAIL_1] then [EMAIL_1] and [EMAIL_2]", json, StringComparison.Ordinal);
        Assert.True(context.HasPlaceholders);
        Assert.Equal("hi ann@a.org", context.Vault.Restore("hi [EMAIL_1]"));
    }

    [Fact]
    public void OnlyTheConfiguredKinds_AreRedacted()
    {
        var (_, json) = Run("""{"messages":[{"role":"user","content":"ann@a.org 123-45-6789"}]}""", kinds: PiiKinds.UsSsn);
        Assert.Contains("ann@a.org [SSN]", json, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""[1,2]""")]
    [InlineData("""{"messages":"not an array","input":{"a":"ann@a.org"}}""")]
    [InlineData("""{"messages":[null,"x",{"content":{"text":"a@b.io"}}]}""")]
    public void ShapesWithoutConversationText_AreLeftAlone(string request) =>
        Assert.Equal(PolicyOutcomeKind.Unchanged, Run(request).Outcome.Kind);

    [Fact]
    public void TruncatedJson_IsUnreadable_NeverPassedThrough()
    {
        var (outcome, _) = Run("""{"messages":[{"role":"user","content":"ann@a.org""");
        Assert.Equal(PolicyOutcomeKind.Unreadable, outcome.Kind);
    }

    [Fact]
    public void TheBuiltinPolicy_IsNative_AndKeepsItsSlotsMode()
    {
        var config = new PolicyConfig("pii", PolicyConfig.BuiltinPrefix + PolicyConfig.PiiRedaction, true, ["*"], ["*"], new PolicyLimitsConfig())
            { RedactMode = "hash", RedactKinds = ["email"] };
        var policy = PiiRedactionPolicy.Compile(config, 7, PolicyMode.FailOpen, PolicyLimits.Default);
        Assert.True(policy.IsNative);
        Assert.Equal(PolicyHooks.OnRequest, policy.Hooks);
        Assert.Equal(PolicyMode.FailOpen, policy.Mode);
        var output = new ArrayBufferWriter<byte>();
        var outcome = policy.OnRequest("""{"messages":[{"role":"user","content":"ann@a.org 123-45-6789"}]}"""u8, new PolicyContext("m"), output);
        Assert.Equal(PolicyOutcomeKind.Changed, outcome.Kind);
        Assert.Matches("""\[EMAIL:[0-9a-f]{8}\] 123-45-6789""", Encoding.UTF8.GetString(output.WrittenSpan));
    }
}
