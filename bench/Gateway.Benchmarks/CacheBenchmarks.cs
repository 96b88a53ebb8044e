using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Gateway.Core.Caching;
using Gateway.Core.Protocol;
using Gateway.Core.Sse;

namespace Gateway.Benchmarks;

/// <summary>
/// The exact cache's lookup as a request pays it: the key (parse, normalise, SHA-256 of the harness's
/// 695-byte request) and the store's lookup of a hit; and the stream a hit replays when the client streams.
/// </summary>
[MemoryDiagnoser]
public class CacheLookupBenchmarks
{
    private byte[] _request = [];
    private MemoryCacheStore _store = null!;
    private CacheKey _key;
    private byte[] _answer = [];

    [GlobalSetup]
    public void Setup()
    {
        _request = BenchData.ChatRequest;
        _key = CacheKey.Of("t:acme", "fast", "completion", _request);
        _answer = Encoding.UTF8.GetBytes("""{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"The gateway routes each request to the deployment that can serve it best, and answers from its cache when it can."},"finish_reason":"stop"}],"usage":{"prompt_tokens":120,"completion_tokens":24,"total_tokens":144}}""");
        _store = new MemoryCacheStore(256L << 20);
        for (int i = 0; i < 10_000; i++)
            _store.SetAsync(new CachedAnswer(new CacheKey((UInt128)i), "t:acme", "fast", CachedForm.Completion, "application/json", _answer, 0, long.MaxValue, default), default);
        _store.SetAsync(new CachedAnswer(_key, "t:acme", "fast", CachedForm.Completion, "application/json", _answer, 0, long.MaxValue, default), default);
    }

    [Benchmark]
    public CacheKey Key() => CacheKey.Of("t:acme", "fast", "completion", _request);

    /// <summary>Among 10,000 entries.</summary>
    [Benchmark]
    public CachedAnswer? StoreHit() => _store.GetAsync(_key, 1, default).Result;

    [Benchmark]
    public CachedAnswer? KeyAndHit() => _store.GetAsync(CacheKey.Of("t:acme", "fast", "completion", _request), 1, default).Result;

    /// <summary>A stored completion as the chunks a streaming client gets.</summary>
    [Benchmark]
    public int ReplayAsStream()
    {
        var output = new ArrayBufferWriter<byte>(1024);
        CompletionChunks.Write(ProtocolReader.ReadCompletion(_answer)!, includeUsage: true, output);
        return output.WrittenCount;
    }
}

/// <summary>The semantic cache's flat search: one bucket of N prompts' 384-dimension unit vectors (all-MiniLM-L6-v2's size).</summary>
[MemoryDiagnoser]
public class SemanticSearchBenchmarks
{
    private SemanticIndex _index = null!;
    private float[] _prompt = [];
    private static readonly CacheKey Bucket = new(1);

    [Params(100, 1_000, 10_000, 50_000)]
    public int Vectors { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        float[] Unit()
        {
            var v = new float[384];
            for (int i = 0; i < v.Length; i++) v[i] = (float)(random.NextDouble() - 0.5);
            SemanticPrompt.Normalize(v);
            return v;
        }
        _index = new SemanticIndex(Vectors + 1);
        for (int i = 0; i < Vectors; i++) _index.Add(Bucket, "t:a", "m", Unit(), new CacheKey((UInt128)i), long.MaxValue);
        _prompt = Unit();
    }

    [Benchmark]
    public object? Find() => _index.Find(Bucket, _prompt, 0.95, 0);
}
