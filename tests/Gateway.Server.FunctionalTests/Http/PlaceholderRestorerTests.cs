using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Policies.Pii;
using Gateway.Server.Http;

namespace Gateway.Server.FunctionalTests.Http;

public class PlaceholderRestorerTests
{
    private static (List<string> Contents, string Raw) Run(PiiVault vault, params string[] contents)
    {
        var restorer = new PlaceholderRestorer(vault);
        var output = new ArrayBufferWriter<byte>();
        for (int i = 0; i < contents.Length; i++)
        {
            string finish = i == contents.Length - 1 ? "\"stop\"" : "null";
            restorer.OnFrame(Encoding.UTF8.GetBytes($$"""data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":{{JsonSerializer.Serialize(contents[i])}}},"finish_reason":{{finish}}}]}""" + "\n\n"), output);
        }
        restorer.OnFrame("data: [DONE]\n\n"u8, output);
        Assert.True(restorer.Completed);
        string raw = Encoding.UTF8.GetString(output.WrittenSpan);
        var texts = raw.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Where(f => f.StartsWith("data: {", StringComparison.Ordinal))
            .Select(f => JsonDocument.Parse(f[6..]).RootElement.GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString()!).ToList();
        return (texts, raw);
    }

    [Fact]
    public void PlaceholderSplitOverChunks_IsRestoredWholeHoldingBackOnlyTheTail()
    {
        var vault = new PiiVault();
        vault.Placeholder("EMAIL", "ann@a.org");
        var (contents, raw) = Run(vault, "Write to [EMA", "IL_1] now", " and [x] done");
        Assert.Equal(["Write to ", "ann@a.org now", " and [x] done"], contents);
        Assert.EndsWith("data: [DONE]\n\n", raw, StringComparison.Ordinal);
    }

    [Fact]
    public void TailThatNeverBecomesAPlaceholder_GoesOutAtTheFinish()
    {
        var vault = new PiiVault();
        vault.Placeholder("EMAIL", "ann@a.org");
        var (contents, _) = Run(vault, "ends with [EM", "");
        Assert.Equal("ends with [EM", string.Concat(contents));
    }
}
