using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Gateway.Server.FunctionalTests.Infrastructure;
using Gateway.Server.Pipeline;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Pipeline;

/// <summary>Every way a model request can end gives exactly one record, and the record says how it ended.</summary>
public sealed class RequestRecordTests : IAsyncLifetime
{
    private const string NarrowKey = "sk-narrow-key-0123456789";
    private readonly RecordingSink _sink = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("gw-records-").FullName;
    private TestUpstream _upstream = null!;
    private GatewayUnderTest _gateway = null!;

    public async Task InitializeAsync()
    {
        _upstream = await TestUpstream.StartAsync();
        string reject = Path.Combine(_dir, "reject.js"), respond = Path.Combine(_dir, "respond.js");
        await File.WriteAllTextAsync(reject, "export function onRequest(req) { return { reject: { status: 422, message: 'not this' } }; }");
        await File.WriteAllTextAsync(respond, "export function onRequest(req) { return { respond: { choices: [{ message: { content: 'from policy' } }], usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } } }; }");
        _gateway = await StartAsync(_upstream, configJson: $$"""
            {
              "providers": {
                "claude": { "type": "anthropic", "baseUrl": "$UPSTREAM_ROOT/anthropic", "apiKey": "env:OPENAI_API_KEY" },
                "quick":  { "type": "openai-compatible", "baseUrl": "$UPSTREAM", "apiKey": "env:OPENAI_API_KEY", "firstByteTimeoutMs": 300, "timeoutMs": 600 },
                "dead":   { "type": "openai-compatible", "baseUrl": "http://127.0.0.1:9/v1", "models": ["any"] }
              },
              "models": { "pair": { "deployments": [ { "provider": "openai", "model": "gpt-a" } ] } },
              "pricing": { "openai/gpt-a": { "input": 1, "output": 2, "cachedInput": 0.5 } },
              "keys": [ { "id": "narrow", "hash": "{{Gateway.Core.Config.KeyHashing.Format(Gateway.Core.Config.KeyHashing.Hash(NarrowKey))}}", "models": ["mock/*"] } ],
              "policies": [
                { "file": "{{reject.Replace("\\", "/", StringComparison.Ordinal)}}", "models": ["refused/*"], "limits": { "timeoutMs": 3000 } },
                { "file": "{{respond.Replace("\\", "/", StringComparison.Ordinal)}}", "models": ["canned/*"], "limits": { "timeoutMs": 3000 } }
              ]
            }
            """, sinks: [_sink]);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private async Task<RequestRecord> Send(string path, string json, string? key = MasterKey, Action<HttpRequestMessage>? extra = null)
    {
        string id = "rec-" + Guid.NewGuid().ToString("N");
        var request = Post(path, json, key);
        request.Headers.Add("x-request-id", id);
        extra?.Invoke(request);
        using (var response = await _gateway.Client.SendAsync(request)) await response.Content.ReadAsByteArrayAsync();
        return await _sink.SingleAsync(id);
    }

    private static string Messages(string model, string text, bool stream = false) =>
        $$"""{"model":"{{model}}","max_tokens":50,"stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"{{text}}"}]}""";

    [Fact]
    public async Task Answer_NonStream_UsageWithDetails()
    {
        var r = await Send("/v1/chat/completions", Chat("pair", "hello usage-details"));
        Assert.Equal((200, RequestOutcome.Answered, "chat", "pair", "openai", "gpt-a", 1), (r.Status, r.Outcome, r.Dialect, r.Model, r.Provider, r.ProviderModel, r.Attempts));
        Assert.Equal(new Gateway.Core.Sse.TokenUsage(10, 5, 15, 4, 2), r.Usage);
        Assert.Equal(18_000L, r.CostNanos); // the configured price: (6 x 1 + 4 cached x 0.5 + 5 out x 2) / 1e6 = $0.000018
        Assert.Equal("master", r.KeyId);
        Assert.Null(r.ErrorCode);
        Assert.Null(r.TimeToFirstToken);
        Assert.True(r.Upstream > TimeSpan.Zero && r.Total >= r.Upstream, $"upstream {r.Upstream}, total {r.Total}");
    }

    [Fact]
    public async Task Answer_Stream_UsageReadEvenWhenTheClientDidNotAskForIt()
    {
        var r = await Send("/v1/chat/completions", Chat("openai/gpt-s", "hi usage-details", stream: true));
        Assert.Equal((200, RequestOutcome.Answered, true, "openai/gpt-s", "openai", "gpt-s"), (r.Status, r.Outcome, r.Stream, r.Model, r.Provider, r.ProviderModel));
        Assert.Equal(new Gateway.Core.Sse.TokenUsage(10, 5, 15, 4, 2), r.Usage);
        Assert.Null(r.CostNanos); // no price for openai/gpt-s: none is made up
        Assert.NotNull(r.TimeToFirstToken);
        Assert.True(r.TimeToFirstToken <= r.Total);
    }

    [Fact]
    public async Task Embeddings_UsageRead()
    {
        var r = await Send("/v1/embeddings", """{"model":"openai/text-embedding-test","input":"hello"}""");
        Assert.Equal((200, RequestOutcome.Answered, "embeddings"), (r.Status, r.Outcome, r.Dialect));
        Assert.Equal(2, r.Usage?.PromptTokens);
    }

    [Fact]
    public async Task Messages_TranslatedBothWays_UsageOfTheCanonicalAnswer()
    {
        var plain = await Send("/v1/messages", Messages("openai/gpt-m", "hello"));
        Assert.Equal((200, RequestOutcome.Answered, "messages", "openai"), (plain.Status, plain.Outcome, plain.Dialect, plain.Provider));
        Assert.Equal((10, 5), (plain.Usage?.PromptTokens, plain.Usage?.CompletionTokens));
        // The gateway asks for usage on a translated stream, so it is counted (and the client's message_delta carries it).
        var stream = await Send("/v1/messages", Messages("openai/gpt-m", "hello", stream: true));
        Assert.Equal((200, RequestOutcome.Answered), (stream.Status, stream.Outcome));
        Assert.Equal((10, 5), (stream.Usage?.PromptTokens, stream.Usage?.CompletionTokens));
    }

    [Fact]
    public async Task Messages_Native_UsageReadFromAnthropicBytes()
    {
        var plain = await Send("/v1/messages", Messages("claude/claude-test", "hello"));
        Assert.Equal((200, RequestOutcome.Answered, "claude"), (plain.Status, plain.Outcome, plain.Provider));
        Assert.Equal(new Gateway.Core.Sse.TokenUsage(3, 1, 4, 0, 0), plain.Usage);
        var stream = await Send("/v1/messages", Messages("claude/claude-test", "hello", stream: true));
        Assert.Equal((200, RequestOutcome.Answered), (stream.Status, stream.Outcome));
        Assert.Equal(new Gateway.Core.Sse.TokenUsage(3, 1, 4, 0, 0), stream.Usage);
    }

    [Fact]
    public async Task ProviderError_AfterTheAttempts()
    {
        var r = await Send("/v1/chat/completions", Chat("openai/gpt-x", "fault:500"));
        Assert.Equal(RequestOutcome.ProviderError, r.Outcome);
        Assert.True(r.Status >= 500, $"status {r.Status}");
        Assert.Equal(("openai", 1), (r.Provider, r.Attempts));
        Assert.NotNull(r.ErrorCode);
    }

    [Fact]
    public async Task Unreachable_IsAProviderError()
    {
        var r = await Send("/v1/chat/completions", Chat("dead/any", "x"));
        Assert.Equal((RequestOutcome.ProviderError, "dead"), (r.Outcome, r.Provider));
    }

    [Fact]
    public async Task Timeout_BeforeTheFirstByte()
    {
        var r = await Send("/v1/chat/completions", Chat("quick/gpt-t", "fault:slow-headers:3000"));
        Assert.Equal((RequestOutcome.Timeout, 504, "upstream_timeout"), (r.Outcome, r.Status, r.ErrorCode));
    }

    [Fact]
    public async Task StreamBrokenMidway_IsAProviderErrorWithTheFramesAlreadySent()
    {
        var r = await Send("/v1/chat/completions", Chat("openai/gpt-b", "fault:reset-mid-stream", stream: true));
        Assert.Equal((RequestOutcome.ProviderError, 200), (r.Outcome, r.Status));
        Assert.NotNull(r.ErrorCode);
        Assert.NotNull(r.TimeToFirstToken);
    }

    [Fact]
    public async Task ClientGone_MidStream()
    {
        string id = "rec-" + Guid.NewGuid().ToString("N");
        var request = Post("/v1/chat/completions", Chat("openai/gpt-g", "fault:slow-stream:400", stream: true));
        request.Headers.Add("x-request-id", id);
        using (var response = await _gateway.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            using var body = await response.Content.ReadAsStreamAsync();
            _ = await body.ReadAsync(new byte[16]); // the first bytes, then away
        }
        var r = await _sink.SingleAsync(id);
        Assert.Equal((RequestOutcome.ClientGone, 499), (r.Outcome, r.Status));
    }

    [Fact]
    public async Task PolicyRefusal()
    {
        var r = await Send("/v1/chat/completions", Chat("refused/x", "x"));
        Assert.Equal((RequestOutcome.PolicyRefused, 422, "policy_rejected", 0), (r.Outcome, r.Status, r.ErrorCode, r.Attempts));
        Assert.Null(r.Provider);
    }

    [Fact]
    public async Task PolicyAnswer_CountsThePolicysUsage()
    {
        var r = await Send("/v1/messages", Messages("canned/x", "x"));
        Assert.Equal((RequestOutcome.PolicyAnswered, 200, "messages"), (r.Outcome, r.Status, r.Dialect));
        Assert.Equal((7, 3), (r.Usage?.PromptTokens, r.Usage?.CompletionTokens));
    }

    [Fact]
    public async Task Validation_MalformedJson()
    {
        var r = await Send("/v1/chat/completions", """{"model":"mock/echo","messages":[""");
        Assert.Equal((RequestOutcome.Invalid, 400, "master"), (r.Outcome, r.Status, r.KeyId));
        Assert.Null(r.Model);
    }

    [Fact]
    public async Task Validation_UnknownModelAndForbiddenModel()
    {
        var unknown = await Send("/v1/chat/completions", Chat("nope/x", "x"));
        Assert.Equal((RequestOutcome.Invalid, 404, "nope/x"), (unknown.Outcome, unknown.Status, unknown.Model));
        var forbidden = await Send("/v1/chat/completions", Chat("openai/gpt-x", "x"), key: NarrowKey);
        Assert.Equal((RequestOutcome.Invalid, 403, "narrow"), (forbidden.Outcome, forbidden.Status, forbidden.KeyId));
    }

    [Fact]
    public async Task Auth_NoKey()
    {
        var r = await Send("/v1/chat/completions", Chat("mock/echo", "x"), key: null);
        Assert.Equal((RequestOutcome.Unauthorized, 401), (r.Outcome, r.Status));
        Assert.Null(r.KeyId);
        var messages = await Send("/v1/messages", Messages("mock/echo", "x"), key: "sk-wrong");
        Assert.Equal((RequestOutcome.Unauthorized, 401, "messages"), (messages.Outcome, messages.Status, messages.Dialect));
    }

    [Fact]
    public async Task DialectHeaderRefused()
    {
        // A header the dialect refuses is still a record: the request ended, if early.
        var r = await Send("/v1/messages", Messages("mock/echo", "x"), extra: m => m.Headers.Add("anthropic-version", "2020-01-01"));
        Assert.Equal((RequestOutcome.Invalid, 400, "invalid_version"), (r.Outcome, r.Status, r.ErrorCode));
    }

    /// <summary>Keeps each record by request id; a second record for one id fails the test that waits on it.</summary>
    private sealed class RecordingSink : IRequestSink
    {
        private readonly ConcurrentDictionary<string, List<RequestRecord>> _records = new(StringComparer.Ordinal);

        public void Write(in RequestRecord record)
        {
            var list = _records.GetOrAdd(record.RequestId, _ => []);
            lock (list) list.Add(record);
        }

        public async Task<RequestRecord> SingleAsync(string id)
        {
            // The record is written just after the answer has gone out.
            for (int i = 0; i < 200 && !_records.ContainsKey(id); i++) await Task.Delay(25);
            await Task.Delay(100); // a second record would have come by now
            Assert.True(_records.TryGetValue(id, out var list), $"no record for {id}");
            lock (list) return Assert.Single(list);
        }
    }
}
