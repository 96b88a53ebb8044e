using System.Buffers;
using System.Text;
using Gateway.Core.Config;
using Gateway.Core.Json;
using Gateway.Core.Protocol;
using Gateway.Core.Routing;
using Gateway.Core.Sse;
using Gateway.Fuzzing;

namespace Gateway.Core.Tests.Fuzzing;

/// <summary>
/// Core's parsers under 100,000 seeded random mutations each: none throws anything but its
/// documented failure (most return an error value and throw nothing at all).
/// </summary>
public class ParserFuzzTests
{
    private const int Inputs = 100_000;

    private static readonly byte[][] Requests =
    [
        """{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"""u8.ToArray(),
        """{"model":"fast","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"type":"string"}}}}}],"max_tokens":50,"temperature":0.2}"""u8.ToArray(),
        """{"model":"openai\/gpt\u002d4o","input":["a","b"],"dimensions":8}"""u8.ToArray(),
        """{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},{"role":"tool","tool_call_id":"c1","content":"ok"}],"response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object"}}}}"""u8.ToArray(),
    ];

    [Theory]
    [InlineData(RequestKind.ChatCompletions)]
    [InlineData(RequestKind.Embeddings)]
    public void RequestInspector_OnlyReturnsErrors(RequestKind kind) =>
        Mutator.Run("RequestInspector", 1001 + (int)kind, Requests, Inputs, input =>
        {
            if (RequestInspector.Inspect(input, kind, out var shape) is not null) return;
            // What it located must lie inside the body and be readable as it says.
            Assert.InRange(shape.ModelStart, 0, input.Length - 1);
            Assert.InRange(shape.ModelEnd, shape.ModelStart + 2, input.Length);
            _ = shape.Model(input);
            Assert.InRange(shape.RootEnd, 0, input.Length - 1);
            var output = new ArrayBufferWriter<byte>();
            RequestRewriter.Rewrite(input, shape, "\"m\""u8, ensureUsage: true, output);
            _ = RoutingRequest.For(input, countTokens: false);
        });

    [Fact]
    public void ModelRouter_OnWhatTheInspectorAccepts_OnlyReturnsErrors()
    {
        var config = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, """{ "providers": { "local": { "type": "openai-compatible", "baseUrl": "http://127.0.0.1:1/v1" } }, "models": { "fast": "local/m" } }""",
            "gw.json", new Dictionary<string, string>()).Config!;
        var snapshot = new GatewaySnapshot(config, config.Providers.ToDictionary(kv => kv.Key, kv => (Gateway.Core.Providers.IProvider)new Routing.ModelRouterTests.StubProvider(kv.Value)),
            new Gateway.Core.Auth.KeyRing(), 1);
        var key = new Gateway.Core.Auth.GatewayKey("k", false, []);
        Mutator.Run("ModelRouter", 1003, Requests, Inputs, input =>
        {
            if (RequestInspector.Inspect(input, RequestKind.ChatCompletions, out var shape) is null)
                _ = ModelRouter.Resolve(snapshot, input, shape, key, out _);
        });
    }

    private static readonly byte[][] Streams =
    [
        "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n"u8.ToArray(),
        "event: message_start\r\ndata: {\"type\":\"message_start\"}\r\n\r\n: keep-alive\r\n\r\n"u8.ToArray(),
        "data: {\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7,\"prompt_tokens_details\":{\"cached_tokens\":1}}}\r\rdata: x\n\n"u8.ToArray(),
    ];

    [Fact]
    public void SseFrameScanner_AlwaysAFrameInsideTheData()
    {
        Mutator.Run("SseFrameScanner", 1004, Streams, Inputs, input =>
        {
            ReadOnlySpan<byte> rest = input;
            while (true)
            {
                int end = SseFrameScanner.FindFrameEnd(rest, isFinal: rest.Length % 2 == 0);
                if (end < 0) break;
                Assert.InRange(end, 1, rest.Length);
                _ = OpenAiFrameInspector.Inspect(rest[..end], out _);
                rest = rest[end..];
            }
        });
    }

    [Fact]
    public void ProtocolReader_ReturnsAnErrorOrNull()
    {
        var completions = new[]
        {
            """{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"completion_tokens_details":{"reasoning_tokens":1}}}"""u8.ToArray(),
        };
        Mutator.Run("ProtocolReader.ReadRequest", 1005, Requests, Inputs, input => _ = ProtocolReader.ReadRequest(input, out _));
        Mutator.Run("ProtocolReader.ReadCompletion", 1006, completions, Inputs, input => _ = ProtocolReader.ReadCompletion(input));
    }

    [Fact]
    public void ConfigReader_ReportsErrors_NeverThrows()
    {
        var configs = new[]
        {
            Encoding.UTF8.GetBytes("""
                // comment
                { "server": { "urls": "http://127.0.0.1:8080", "maxBodyBytes": 1048576, "policyWorkers": 2 },
                  "providers": { "openai": { "type": "openai", "apiKey": "sk", "headers": { "x-a": "b" }, "timeoutMs": 1000 },
                                 "az": { "type": "azure", "baseUrl": "https://x.openai.azure.com", "apiKey": "k", "models": ["d"] } },
                  "models": { "fast": { "strategy": "weighted", "retries": 2, "fallbacks": ["smart"], "breaker": { "failureRatio": 0.5 },
                                        "deployments": [ { "provider": "openai", "model": "gpt-4o-mini", "weight": 3, "rpm": 10, "tags": ["eu"] } ] },
                              "smart": "az/d" },
                  "keys": [ { "id": "k", "hash": "sha256:0000000000000000000000000000000000000000000000000000000000000000", "models": ["fast"] } ],
                  "policies": [ { "builtin": "pii-redaction", "redact": { "mode": "mask" } } ], }
                """),
        };
        var env = new Dictionary<string, string> { ["GATEWAY_MASTER_KEY"] = "m" };
        Mutator.Run("ConfigLoader", 1007, configs, Inputs, input =>
        {
            string text = Encoding.UTF8.GetString(input);
            var result = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, text, "fuzz.json", env, Path.GetTempPath());
            Assert.True(result.IsValid || result.Errors.Count > 0);
        });
    }
}
