using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Server.FunctionalTests.Infrastructure;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Endpoints;

/// <summary>One gateway with an OpenAI-format, an Anthropic and a Gemini provider behind every inbound dialect.</summary>
public sealed class MatrixGateway : IAsyncLifetime
{
    public TestUpstream Upstream { get; private set; } = null!;
    public GatewayUnderTest Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Upstream = await TestUpstream.StartAsync();
        Gateway = await StartAsync(Upstream, configJson: """
            {
              "providers": {
                "compat": { "type": "openai-compatible", "baseUrl": "$UPSTREAM", "apiKey": "env:OPENAI_API_KEY" },
                "claude": { "type": "anthropic", "baseUrl": "$UPSTREAM_ROOT/anthropic", "apiKey": "env:OPENAI_API_KEY" },
                "gem": { "type": "gemini", "baseUrl": "$UPSTREAM_ROOT/gemini", "apiKey": "env:OPENAI_API_KEY" }
              }
            }
            """);
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}

/// <summary>
/// Every inbound dialect to every provider kind, whole answers and streams: each answer is the provider's
/// reply in the client's dialect, and each stream ends the way its dialect says a stream ends.
/// </summary>
public class DialectMatrixTests(MatrixGateway matrix) : IClassFixture<MatrixGateway>
{
    public static TheoryData<string, string, bool> Pairs()
    {
        var data = new TheoryData<string, string, bool>();
        foreach (var dialect in new[] { "chat", "messages", "responses", "gemini" })
            foreach (var model in new[] { "compat/gpt-test", "claude/claude-test", "gem/gemini-test" })
                foreach (var stream in new[] { false, true })
                    data.Add(dialect, model, stream);
        return data;
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public async Task Dialect_ToProvider_AnswersInTheClientsDialect(string dialect, string model, bool stream)
    {
        string tag = "x" + Guid.NewGuid().ToString("N")[..10];
        using var request = Request(dialect, model, tag, stream);
        using var response = await matrix.Gateway.Client.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{dialect} -> {model}: {(int)response.StatusCode} {body}");
        var (text, ended) = stream ? ReadStream(dialect, body) : (ReadAnswer(dialect, body), true);
        // The Anthropic fake always answers "native"; the others echo.
        Assert.Equal(model.StartsWith("claude", StringComparison.Ordinal) ? "native" : "echo: " + tag, text);
        Assert.True(ended, $"{dialect} -> {model}: the stream did not end the way its dialect ends one: {body}");
        Assert.Contains(matrix.Upstream.Requests, r => r.Body.Contains(tag, StringComparison.Ordinal));
    }

    private static HttpRequestMessage Request(string dialect, string model, string text, bool stream)
    {
        string s = stream ? "true" : "false";
        var (path, json) = dialect switch
        {
            "chat" => ("/v1/chat/completions", $$"""{"model":"{{model}}","stream":{{s}},"messages":[{"role":"user","content":"{{text}}"}]}"""),
            "messages" => ("/v1/messages", $$"""{"model":"{{model}}","max_tokens":50,"stream":{{s}},"messages":[{"role":"user","content":"{{text}}"}]}"""),
            "responses" => ("/v1/responses", $$"""{"model":"{{model}}","stream":{{s}},"input":"{{text}}"}"""),
            _ => ($"/v1beta/models/{model}:" + (stream ? "streamGenerateContent?alt=sse" : "generateContent"), $$"""{"contents":[{"role":"user","parts":[{"text":"{{text}}"}]}]}"""),
        };
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (dialect == "gemini") request.Headers.Add("x-goog-api-key", MasterKey);
        else if (dialect == "messages") request.Headers.Add("x-api-key", MasterKey);
        else request.Headers.Add("Authorization", "Bearer " + MasterKey);
        return request;
    }

    private static string ReadAnswer(string dialect, string body)
    {
        var root = JsonDocument.Parse(body).RootElement;
        return dialect switch
        {
            "chat" => root.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!,
            "messages" => root.GetProperty("content")[0].GetProperty("text").GetString()!,
            "responses" => root.GetProperty("output").EnumerateArray().Single(o => o.GetProperty("type").GetString() == "message").GetProperty("content")[0].GetProperty("text").GetString()!,
            _ => string.Concat(root.GetProperty("candidates")[0].GetProperty("content").GetProperty("parts").EnumerateArray().Select(p => p.GetProperty("text").GetString())),
        };
    }

    /// <summary>The text a stream carries, and whether it ended properly.</summary>
    private static (string Text, bool Ended) ReadStream(string dialect, string body)
    {
        var data = body.Replace("\r\n", "\n", StringComparison.Ordinal).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e => e.Split('\n').First(l => l.StartsWith("data:", StringComparison.Ordinal))["data:".Length..].Trim()).ToList();
        var text = new StringBuilder();
        bool ended = false;
        foreach (var payload in data)
        {
            if (payload == "[DONE]") { ended = true; continue; }
            var e = JsonDocument.Parse(payload).RootElement;
            switch (dialect)
            {
                case "chat":
                    if (e.GetProperty("choices").GetArrayLength() > 0 && e.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String)
                        text.Append(c.GetString());
                    break;
                case "messages":
                    string type = e.GetProperty("type").GetString()!;
                    if (type == "content_block_delta") text.Append(e.GetProperty("delta").GetProperty("text").GetString());
                    ended |= type == "message_stop";
                    break;
                case "responses":
                    string kind = e.GetProperty("type").GetString()!;
                    if (kind == "response.output_text.delta") text.Append(e.GetProperty("delta").GetString());
                    ended |= kind == "response.completed";
                    break;
                default:
                    var candidate = e.GetProperty("candidates")[0];
                    foreach (var part in candidate.GetProperty("content").GetProperty("parts").EnumerateArray())
                        if (part.TryGetProperty("text", out var t)) text.Append(t.GetString());
                    ended |= candidate.TryGetProperty("finishReason", out _);
                    break;
            }
        }
        return (text.ToString(), ended);
    }
}
