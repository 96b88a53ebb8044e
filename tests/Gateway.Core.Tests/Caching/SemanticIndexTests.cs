using System.Text;
using Gateway.Core.Caching;

namespace Gateway.Core.Tests.Caching;

public class SemanticIndexTests
{
    private static readonly CacheKey Bucket = new(1), Other = new(2);

    private static float[] Unit(params float[] v)
    {
        Assert.True(SemanticPrompt.Normalize(v));
        return v;
    }

    [Fact]
    public void TheClosestPromptAboveTheThreshold_IsFound_WithItsSimilarity()
    {
        var index = new SemanticIndex(100);
        index.Add(Bucket, "t:a", "m", Unit(1, 0, 0), new CacheKey(10), long.MaxValue);
        index.Add(Bucket, "t:a", "m", Unit(1, 1, 0), new CacheKey(11), long.MaxValue);
        var found = index.Find(Bucket, Unit(1, 0.1f, 0), 0.9, 0);
        Assert.Equal(new CacheKey(10), found!.Value.Entry);
        Assert.InRange(found.Value.Similarity, 0.99, 1.0);
        Assert.Null(index.Find(Bucket, Unit(0, 0, 1), 0.5, 0));   // nothing close enough
        Assert.Null(index.Find(Other, Unit(1, 0, 0), 0.5, 0));    // another bucket is never searched
        Assert.Null(index.Find(Bucket, Unit(1, 0), 0.5, 0));      // another embedder's length never matches
    }

    [Fact]
    public void ExpiredVectors_AreNotFound_AndThePastTheBound_OldestGo()
    {
        var index = new SemanticIndex(100);
        index.Add(Bucket, "t:a", "m", Unit(1, 0), new CacheKey(10), expires: 50);
        Assert.NotNull(index.Find(Bucket, Unit(1, 0), 0.9, now: 49));
        Assert.Null(index.Find(Bucket, Unit(1, 0), 0.9, now: 50));
        Assert.Equal(0, index.Count);

        for (int i = 0; i < 120; i++) index.Add(new CacheKey((UInt128)(1000 + i)), "t:a", "m", Unit(1, i), new CacheKey((UInt128)i), long.MaxValue);
        Assert.InRange(index.Count, 1, 100);
        Assert.Null(index.Find(new CacheKey(1000), Unit(1, 0), 0.99, 0)); // the first ones went
        Assert.NotNull(index.Find(new CacheKey(1119), Unit(1, 119), 0.99, 0));
    }

    [Fact]
    public void ABucket_HoldsAtMostItsBound_TheOldestGoing()
    {
        var index = new SemanticIndex(SemanticIndex.MaxPerBucket * 2);
        for (int i = 0; i <= SemanticIndex.MaxPerBucket; i++) index.Add(Bucket, "t:a", "m", Unit(1, i), new CacheKey((UInt128)i), long.MaxValue);
        Assert.Equal(SemanticIndex.MaxPerBucket, index.Count);
        Assert.Null(index.Find(Bucket, Unit(1, 0), 0.9999, 0));
        Assert.Equal(new CacheKey(1), index.Find(Bucket, Unit(1, 1), 0.9999, 0)!.Value.Entry);
    }

    [Fact]
    public void Purge_AndRemove_TakeTheirVectors()
    {
        var index = new SemanticIndex(100);
        index.Add(Bucket, "t:a", "m", Unit(1, 0), new CacheKey(10), long.MaxValue);
        index.Add(Other, "t:b", "m", Unit(1, 0), new CacheKey(11), long.MaxValue);
        index.Add(Bucket, "t:a", "m", Unit(1, 0), new CacheKey(10), long.MaxValue); // the same entry again replaces it
        Assert.Equal(2, index.Count);
        Assert.Equal(1, index.Purge("t:b", null));
        index.Remove(Bucket, new CacheKey(10));
        Assert.Equal(0, index.Count);
    }

    [Fact]
    public void Dot_MatchesTheScalarSum_ForEveryLength()
    {
        var random = new Random(7);
        foreach (int length in new[] { 1, 3, 8, 17, 384, 1536 })
        {
            var a = Enumerable.Range(0, length).Select(_ => (float)random.NextDouble()).ToArray();
            var b = Enumerable.Range(0, length).Select(_ => (float)random.NextDouble()).ToArray();
            double expected = a.Zip(b, (x, y) => (double)x * y).Sum();
            Assert.Equal(expected, SemanticIndex.Dot(a, b), 3);
        }
    }
}

public class SemanticPromptTests
{
    private static string? Read(string json) => SemanticPrompt.Read(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void TheLastUserMessagesText_IsThePrompt()
    {
        Assert.Equal("b", Read("""{"messages":[{"role":"system","content":"s"},{"role":"user","content":"a"},{"role":"assistant","content":"x"},{"role":"user","content":"b"}]}"""));
        Assert.Equal("one\ntwo", Read("""{"messages":[{"role":"user","content":[{"type":"text","text":"one"},{"type":"text","text":"two"}]}]}"""));
    }

    [Theory]
    [InlineData("""{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"x"}]}""")]
    [InlineData("""{"messages":[{"role":"user","content":[{"type":"text","text":"what is this"},{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}""")]
    [InlineData("""{"messages":[]}""")]
    [InlineData("""{"input":"a"}""")]
    [InlineData("""{"messages":[{"role":"user","content":"   "}]}""")]
    public void RequestsNoTextEmbeddingStandsFor_AreNotCompared(string json) => Assert.Null(Read(json));

    [Fact]
    public void APromptTheEmbedderWouldCut_IsNotCompared() =>
        Assert.Null(Read("{\"messages\":[{\"role\":\"user\",\"content\":\"" + new string('a', SemanticPrompt.MaxChars + 1) + "\"}]}"));

    [Fact]
    public void TheBucketKey_LeavesOutTheLastMessageOnly()
    {
        static CacheKey Bucket(string json) => CacheKey.Of("t:a", "m", "semantic:local", Encoding.UTF8.GetBytes(json), withoutLastMessage: true);
        var a = Bucket("""{"messages":[{"role":"system","content":"s"},{"role":"user","content":"first"}],"temperature":0}""");
        Assert.Equal(a, Bucket("""{"messages":[{"role":"system","content":"s"},{"role":"user","content":"second"}],"temperature":0}"""));
        Assert.NotEqual(a, Bucket("""{"messages":[{"role":"system","content":"t"},{"role":"user","content":"first"}],"temperature":0}"""));
        Assert.NotEqual(a, Bucket("""{"messages":[{"role":"system","content":"s"},{"role":"user","content":"first"}],"temperature":1}"""));
    }
}
