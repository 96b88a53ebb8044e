using System.Buffers;
using BenchmarkDotNet.Attributes;
using Gateway.Core;
using Gateway.Core.Auth;
using Gateway.Core.Config;
using Gateway.Core.Json;
using Gateway.Core.Routing;
using Gateway.Providers;
using Gateway.Providers.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Benchmarks;

/// <summary>
/// What the gateway does to a request body before it goes upstream: validate + locate fields, route
/// by model, splice the model (and include_usage for streams). Aim: no allocation.
/// </summary>
[MemoryDiagnoser]
public class RequestPathBenchmarks
{
    private byte[] _chat = [];
    private byte[] _stream = [];
    private RequestShape _chatShape;
    private RequestShape _streamShape;
    private GatewaySnapshot _snapshot = null!;
    private GatewayKey _key = null!;
    private ArrayBufferWriter<byte> _output = null!;

    [GlobalSetup]
    public void Setup()
    {
        _chat = BenchData.ChatRequest;
        _stream = BenchData.StreamRequest;
        RequestInspector.Inspect(_chat, RequestKind.ChatCompletions, out _chatShape);
        RequestInspector.Inspect(_stream, RequestKind.ChatCompletions, out _streamShape);
        var config = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, """{ "providers": { "benchjson": { "type": "openai-compatible", "baseUrl": "http://127.0.0.1:18081/v1" } } }""",
            "bench", new Dictionary<string, string>()).Config!;
        var factory = new ProviderFactory(new UpstreamHandlerPool(), NullLoggerFactory.Instance, TimeProvider.System);
        _snapshot = new GatewaySnapshot(config, config.Providers.ToDictionary(kv => kv.Key, kv => factory.Create(kv.Value)), new KeyRing(), 1);
        _key = new GatewayKey("bench", false, []);
        _output = new ArrayBufferWriter<byte>(4096);
    }

    [Benchmark]
    public bool Inspect() => RequestInspector.Inspect(_chat, RequestKind.ChatCompletions, out _) is null;

    [Benchmark]
    public bool Route() => ModelRouter.Resolve(_snapshot, _chat, _chatShape, _key, out _) is null;

    [Benchmark]
    public int RewriteModel()
    {
        _output.ResetWrittenCount();
        RequestRewriter.Rewrite(_chat, _chatShape, "gpt-4o-mini"u8, ensureUsage: false, _output);
        return _output.WrittenCount;
    }

    [Benchmark]
    public int RewriteModelAndIncludeUsage()
    {
        _output.ResetWrittenCount();
        RequestRewriter.Rewrite(_stream, _streamShape, "gpt-4o-mini"u8, ensureUsage: true, _output);
        return _output.WrittenCount;
    }

    /// <summary>Everything above in sequence, as one request pays it.</summary>
    [Benchmark]
    public int InspectRouteRewrite()
    {
        RequestInspector.Inspect(_chat, RequestKind.ChatCompletions, out var shape);
        ModelRouter.Resolve(_snapshot, _chat, shape, _key, out var route);
        _output.ResetWrittenCount();
        RequestRewriter.Rewrite(_chat, shape, shape.RawModel(_chat)[route.ModelOffset..], ensureUsage: false, _output);
        return _output.WrittenCount;
    }
}
