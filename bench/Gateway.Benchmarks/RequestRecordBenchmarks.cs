using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Gateway.Core;
using Gateway.Core.Auth;
using Gateway.Core.Config;
using Gateway.Core.Json;
using Gateway.Core.Providers;
using Gateway.Core.Sse;
using Gateway.Server.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Benchmarks;

/// <summary>
/// What every request now pays for its record: the pooled request context filled as the pipeline
/// fills it, the record made, handed to the sinks (the request log, switched off as it is by default,
/// and one that reads every field), the context returned; and the forward scan that reads the usage
/// of a whole answer. The aim is zero allocations in steady state.
/// </summary>
[MemoryDiagnoser]
public class RequestRecordBenchmarks
{
    private GatewaySnapshot _snapshot = null!;
    private IRequestSink[] _sinks = null!;
    private DefaultHttpContext _context = null!;
    private byte[] _answer = null!;

    private sealed class ReadingSink : IRequestSink
    {
        public long Sum;

        public void Write(in RequestRecord record) =>
            Sum += record.Status + record.Attempts + (record.Usage?.TotalTokens ?? 0) + record.Total.Ticks + record.Overhead.Ticks
                + (record.TimeToFirstToken?.Ticks ?? 0) + record.Model!.Length + record.ProviderModel!.Length;
    }

    [GlobalSetup]
    public void Setup()
    {
        var config = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, "{}", "bench", new Dictionary<string, string>()).Config!;
        _snapshot = new GatewaySnapshot(config, new Dictionary<string, IProvider>(), new KeyRing(), 1);
        _sinks = [new RequestLogSink(new SnapshotHolder(_snapshot), NullLoggerFactory.Instance), new ReadingSink()];
        _context = new DefaultHttpContext { TraceIdentifier = "0HNBENCH:00000001" };
        _context.Request.Method = "POST";
        _context.Request.Path = "/v1/chat/completions";
        _context.Response.StatusCode = 200;
        _answer = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "data", "chat.completion.json"));
    }

    private static readonly Gateway.Core.Auth.GatewayKey TeamKey = new("team-a", admin: false, []);

    [Benchmark]
    public int RecordOneRequest()
    {
        long started = Stopwatch.GetTimestamp();
        var request = GatewayRequest.Rent(_snapshot, started);
        _context.Features.Set(request);
        request.Dialect = "chat";
        request.Key = TeamKey;
        request.Model = "fast";
        request.Stream = true;
        request.Sending(started);
        request.SentTo("openai", "gpt-4o-mini", 1, null);
        request.FirstToken(started);
        request.Usage = new TokenUsage(812, 164, 976, 512, 0);
        long now = Stopwatch.GetTimestamp();
        request.UpstreamDone(now);
        _context.Features.Set<GatewayRequest>(null);
        var record = request.ToRecord(_context, now);
        foreach (var sink in _sinks) sink.Write(record);
        GatewayRequest.Return(request);
        return record.Status;
    }

    [Benchmark]
    public int ReadUsageOfAWholeAnswer() => AnswerUsage.TryRead(_answer, out var usage) ? usage.TotalTokens : 0;
}
