using System.Text;
using Gateway.Core.Caching;

namespace Gateway.Core.Tests.Caching;

public class CacheKeyTests
{
    private static CacheKey Key(string json, string scope = "t:acme", string routed = "cached", string form = "completion") =>
        CacheKey.Of(scope, routed, form, Encoding.UTF8.GetBytes(json));

    private const string Request = """{"model":"cached","messages":[{"role":"user","content":"hi"}],"temperature":0.2}""";

    [Theory]
    // Member order, whitespace, number spelling and the fields that do not change the answer.
    [InlineData("""{"temperature":0.2,"messages":[{"content":"hi","role":"user"}],"model":"cached"}""")]
    [InlineData("""{ "model" : "cached" , "messages" : [ { "role" : "user" , "content" : "hi" } ] , "temperature" : 2e-1 }""")]
    [InlineData("""{"model":"other-name","messages":[{"role":"user","content":"hi"}],"temperature":0.20,"stream":true,"stream_options":{"include_usage":true}}""")]
    [InlineData("""{"model":"cached","messages":[{"role":"user","content":"hi"}],"temperature":0.2,"user":"u-1","metadata":{"a":"b"},"store":false,"service_tier":"auto"}""")]
    public void TheSameRequest_WrittenAnotherWay_IsTheSameKey(string json) => Assert.Equal(Key(Request), Key(json));

    [Theory]
    [InlineData("""{"model":"cached","messages":[{"role":"user","content":"hi"}],"temperature":0.9}""")]
    [InlineData("""{"model":"cached","messages":[{"role":"user","content":"Hi"}],"temperature":0.2}""")]
    [InlineData("""{"model":"cached","messages":[{"role":"user","content":"hi"}],"temperature":0.2,"max_tokens":5}""")]
    [InlineData("""{"model":"cached","messages":[{"role":"user","content":"hi"}],"temperature":0.2,"tools":[{"type":"function","function":{"name":"f"}}]}""")]
    [InlineData("""{"model":"cached","messages":[{"role":"system","content":"x"},{"role":"user","content":"hi"}],"temperature":0.2}""")]
    // A field named like an ignored one, but not at the top, is part of the request.
    [InlineData("""{"model":"cached","messages":[{"role":"user","content":"hi","user":"u"}],"temperature":0.2}""")]
    public void AnythingThatChangesTheAnswer_IsAnotherKey(string json) => Assert.NotEqual(Key(Request), Key(json));

    [Fact]
    public void ScopeModelAndForm_EachMakeAnotherKey()
    {
        var key = Key(Request);
        Assert.NotEqual(key, Key(Request, scope: "t:other"));
        Assert.NotEqual(key, Key(Request, scope: "k:acme"));
        Assert.NotEqual(key, Key(Request, routed: "openai/gpt-4o"));
        Assert.NotEqual(key, Key(Request, form: "messages:json"));
        // The parts are length-prefixed: moving a character from one to the next is not the same key.
        Assert.NotEqual(Key(Request, scope: "t:ab", routed: "c"), Key(Request, scope: "t:a", routed: "bc"));
    }

    [Fact]
    public void ArraysKeepTheirOrder()
    {
        const string two = """{"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]}""";
        const string swapped = """{"messages":[{"role":"user","content":"b"},{"role":"user","content":"a"}]}""";
        Assert.NotEqual(Key(two), Key(swapped));
    }
}
