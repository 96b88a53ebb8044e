using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Gateway.Core.Config;
using Gateway.Core.Providers;
using Gateway.Providers.Mock;

namespace Gateway.Providers.Tests.Mock;

public class MockProviderTests
{
    private static MockProvider Provider(int chunks = 4) =>
        new(new ProviderConfig { Name = "mock", Type = "mock", Chunks = chunks }, TimeProvider.System);

    private static ProviderCall Chat(string body, string model = "echo", bool stream = false) =>
        new(ProviderOperation.ChatCompletions, Encoding.UTF8.GetBytes(body), Encoding.UTF8.GetBytes(model), stream);

    private static async Task<string> ReadAll(UpstreamResponse response)
    {
        using var reader = new StreamReader(response.Body);
        return await reader.ReadToEndAsync();
    }

    [Fact]
    public async Task Echo_NonStream_AnswersTheLastUserTextWithUsage()
    {
        var result = await Provider().SendAsync(Chat("""{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"first"},{"role":"assistant","content":"ok"},{"role":"user","content":[{"type":"text","text":"second "},{"type":"text","text":"turn"}]}]}"""), default);
        using var doc = JsonDocument.Parse(await ReadAll(result.Response!));
        var choice = doc.RootElement.GetProperty("choices")[0];
        Assert.Equal("second turn", choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        Assert.Equal("chat.completion", doc.RootElement.GetProperty("object").GetString());
        Assert.Equal(3, doc.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Echo_MaxTokens_TruncatesWithFinishLength()
    {
        var result = await Provider().SendAsync(Chat("""{"max_tokens":1,"messages":[{"role":"user","content":"a rather long sentence"}]}"""), default);
        using var doc = JsonDocument.Parse(await ReadAll(result.Response!));
        var choice = doc.RootElement.GetProperty("choices")[0];
        Assert.Equal("a ra", choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(8)]
    public async Task Echo_Stream_SendsRoleChunkContentChunksFinishUsageAndDone(int chunks)
    {
        var result = await Provider(chunks).SendAsync(Chat("""{"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"one two three four 👋"}]}""", stream: true), default);
        Assert.True(result.Response!.IsEventStream);
        var frames = (await ReadAll(result.Response)).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", frames[^1]);
        var json = frames[..^1].Select(f => JsonDocument.Parse(f["data: ".Length..]).RootElement).ToArray();
        Assert.Equal("assistant", json[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        string text = string.Concat(json.Where(j => j.GetProperty("choices").GetArrayLength() > 0)
            .Select(j => j.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var c) ? c.GetString() : ""));
        Assert.Equal("one two three four 👋", text);
        Assert.Equal(chunks + 3, json.Length); // role + content chunks + finish + usage
        Assert.Equal(0, json[^1].GetProperty("choices").GetArrayLength());
        Assert.True(json[^1].GetProperty("usage").GetProperty("total_tokens").GetInt32() > 0);
        Assert.Single(json.Select(j => j.GetProperty("id").GetString()).Distinct());
    }

    [Fact]
    public async Task Echo_StreamWithoutUsage_HasNoUsageChunk()
    {
        var result = await Provider().SendAsync(Chat("""{"stream":true,"messages":[{"role":"user","content":"x"}]}""", stream: true), default);
        Assert.DoesNotContain("\"usage\"", await ReadAll(result.Response!));
    }

    [Fact]
    public async Task UnknownModel_Is404FromTheProvider()
    {
        var result = await Provider().SendAsync(Chat("""{"messages":[{"role":"user","content":"x"}]}""", model: "gpt-9"), default);
        Assert.Equal((404, "model_not_found"), (result.Error!.Status, result.Error.Code));
    }

    [Fact]
    public async Task Embeddings_SameTextSameUnitVector_Base64DecodesToTheFloats()
    {
        var provider = Provider();
        async Task<JsonElement> Embed(string body)
        {
            var r = await provider.SendAsync(new ProviderCall(ProviderOperation.Embeddings, Encoding.UTF8.GetBytes(body), "embedding"u8.ToArray(), false), default);
            return JsonDocument.Parse(await ReadAll(r.Response!)).RootElement;
        }
        var floats = await Embed("""{"input":["alpha","beta","alpha"],"dimensions":8}""");
        var data = floats.GetProperty("data");
        Assert.Equal(3, data.GetArrayLength());
        var a = data[0].GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.Equal(a, data[2].GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray());
        Assert.Equal(1.0, Math.Sqrt(a.Sum(x => (double)x * x)), 3);

        var b64 = await Embed("""{"input":"alpha","dimensions":8,"encoding_format":"base64"}""");
        var bytes = Convert.FromBase64String(b64.GetProperty("data")[0].GetProperty("embedding").GetString()!);
        var decoded = Enumerable.Range(0, 8).Select(i => BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * 4))).ToArray();
        Assert.Equal(a, decoded);
    }

    [Fact]
    public async Task Stream_ReaderGoesAway_ProducerStops()
    {
        var provider = new MockProvider(new ProviderConfig { Name = "mock", Type = "mock", Chunks = 50, ChunkDelay = TimeSpan.FromMilliseconds(20) }, TimeProvider.System);
        var result = await provider.SendAsync(Chat("""{"stream":true,"messages":[{"role":"user","content":"abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmn"}]}""", stream: true), default);
        var buffer = new byte[64];
        Assert.True(await result.Response!.Body.ReadAsync(buffer) > 0);
        result.Response.Dispose(); // must not throw or leave the producer writing forever
    }
}
