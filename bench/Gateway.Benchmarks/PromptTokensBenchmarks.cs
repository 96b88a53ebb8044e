using System.Text;
using BenchmarkDotNet.Attributes;
using Gateway.Core.Routing;

namespace Gateway.Benchmarks;

/// <summary>
/// What routing pays to know a request's size: the byte estimate every group gets, and the
/// tokenizer count that only groups weighing tokens (lowest cost, context windows, tpm) pay for.
/// </summary>
[MemoryDiagnoser]
public class PromptTokensBenchmarks
{
    private byte[] _body = [];

    /// <summary>Bytes of message text: a short chat turn, a page, a long document.</summary>
    [Params(200, 4_000, 64_000)]
    public int TextBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        const string Sentence = "The gateway routes each request to the deployment that can serve it best. ";
        var text = new StringBuilder();
        while (text.Length < TextBytes) text.Append(Sentence);
        _body = Encoding.UTF8.GetBytes($$"""{"model":"g","max_tokens":500,"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"{{text}}"}]}""");
        PromptTokens.Warm();
    }

    [Benchmark(Baseline = true)]
    public int ByteEstimate() => RoutingRequest.For(_body).TotalTokens;

    [Benchmark]
    public int TokenizerCount() => RoutingRequest.For(_body, countTokens: true).TotalTokens;
}
