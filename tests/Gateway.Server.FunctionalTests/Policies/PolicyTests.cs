using System.Net;
using System.Text.Json;
using Gateway.Server.FunctionalTests.Infrastructure;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Policies;

/// <summary>Policies on the request path of a real gateway, against the recording upstream.</summary>
public sealed class PolicyTests : IAsyncLifetime
{
    private const string Redact = """
        export function onRequest(req, ctx) {
          for (const m of req.messages) if (typeof m.content === 'string') m.content = m.content.replace(/[\w.+-]+@[\w-]+\.[\w.]+/g, '[email]');
          return req;
        }
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("gw-policies-").FullName;
    private TestUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await TestUpstream.StartAsync();

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private string Write(string name, string code)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, code);
        return path;
    }

    private Task<GatewayUnderTest> Start(string policiesJson, CapturingLoggerProvider? logs = null) => StartAsync(_upstream,
        env: logs is null ? null : new() { ["GATEWAY_LOG_LEVEL"] = "Information" }, configJson: $$"""
        {
          "providers": {
            "claude": { "type": "anthropic", "baseUrl": "$UPSTREAM_ROOT/anthropic", "apiKey": "sk-upstream-test" }
          },
          "policies": {{WithTestLimits(policiesJson)}}
        }
        """, logs: logs);

    // Generous wall time: a first call under JIT on a busy test machine can take far longer than in the native binary.
    private static string WithTestLimits(string policies) =>
        policies.Replace("{ \"file\":", "{ \"limits\": { \"timeoutMs\": 3000 }, \"file\":", StringComparison.Ordinal)
            .Replace("{ \"builtin\":", "{ \"limits\": { \"timeoutMs\": 3000 }, \"builtin\":", StringComparison.Ordinal);

    private static string Tag() => "t" + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task Redaction_TheProviderNeverSeesTheEmail()
    {
        string file = Write("redact.js", Redact);
        await using var gateway = await Start($$"""[{ "file": "{{file}}" }]""");
        string tag = Tag();
        using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", $"{tag} mail bob.smith@example.com")));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = Assert.Single(_upstream.Matching(tag));
        Assert.Contains("[email]", sent.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("bob.smith@example.com", sent.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Redaction_OnMessagesToAnthropic_IsNotBypassedByThePassthrough()
    {
        string file = Write("redact.js", Redact);
        await using var gateway = await Start($$"""[{ "file": "{{file}}" }]""");
        string tag = Tag();
        var request = Post("/v1/messages", $$"""{"model":"claude/claude-test","max_tokens":20,"messages":[{"role":"user","content":"{{tag}} ann@example.org"}]}""");
        using var response = await gateway.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = Assert.Single(_upstream.Matching(tag));
        Assert.DoesNotContain("ann@example.org", sent.Body, StringComparison.Ordinal);
        Assert.Equal("native", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("content")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task Loop_FailsClosedNamingThePolicy_AndTheGatewayKeepsServing()
    {
        string file = Write("loop.js", "export function onRequest(req) { if (req.messages[0].content.includes('loop please')) { for (;;) {} } return req; }");
        await using var gateway = await Start($$"""[{ "file": "{{file}}", "mode": "fail-closed" }]""");
        string tag = Tag();
        using (var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", $"{tag} loop please"))))
        {
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
            var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
            Assert.Equal("policy_failed", error.GetProperty("code").GetString());
            Assert.Contains("'loop'", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        Assert.Empty(_upstream.Matching(tag));
        using var next = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", "still serving")));
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    [Fact]
    public async Task Throwing_FailOpen_IsSkippedAndLogged()
    {
        var logs = new CapturingLoggerProvider();
        string file = Write("flaky.js", "export function onRequest(req) { throw new Error('flaky'); }");
        await using var gateway = await Start($$"""[{ "file": "{{file}}", "mode": "fail-open" }]""", logs);
        using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", "x")));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(logs.Lines, l => l.StartsWith("Warning:", StringComparison.Ordinal) && l.Contains("flaky", StringComparison.Ordinal));
        // The meter line comes on the reporter's next tick.
        Assert.True(await Eventually(() => Task.FromResult(logs.Lines.Any(l => l.Contains("Policy flaky: 1 calls, 1 failures, 0 limit hits", StringComparison.Ordinal)))),
            "no meter line: " + string.Join(" | ", logs.Lines));
    }

    [Fact]
    public async Task Reject_IsTheClientsErrorInEachApisShape()
    {
        string file = Write("guard.js", "export function onRequest(req) { return { reject: { status: 422, message: 'prompt injection suspected' } }; }");
        await using var gateway = await Start($$"""[{ "file": "{{file}}" }]""");
        using (var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", "x"))))
        {
            Assert.Equal((HttpStatusCode)422, response.StatusCode);
            var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
            Assert.Equal(("policy_rejected", "prompt injection suspected"), (error.GetProperty("code").GetString(), error.GetProperty("message").GetString()));
        }
        using var messages = await gateway.Client.SendAsync(Post("/v1/messages", """{"model":"openai/gpt-test","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"""));
        Assert.Equal((HttpStatusCode)422, messages.StatusCode);
        Assert.Equal("error", JsonDocument.Parse(await messages.Content.ReadAsStringAsync()).RootElement.GetProperty("type").GetString());
    }

    [Fact]
    public async Task Respond_AnswersWithoutCallingTheProvider_JsonStreamAndMessages()
    {
        string file = Write("canned.js", "export function onRequest(req) { return { respond: { choices: [{ message: { content: 'from policy' } }] } }; }");
        await using var gateway = await Start($$"""[{ "file": "{{file}}" }]""");
        string tag = Tag();
        using (var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", tag))))
        {
            var root = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(("from policy", "stop", "openai/gpt-test"), (root.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(),
                root.GetProperty("choices")[0].GetProperty("finish_reason").GetString(), root.GetProperty("model").GetString()));
        }
        using (var stream = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", tag, stream: true))))
        {
            string body = await stream.Content.ReadAsStringAsync();
            Assert.Contains("\"content\":\"from policy\"", body, StringComparison.Ordinal);
            Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);
        }
        using (var messages = await gateway.Client.SendAsync(Post("/v1/messages", $$"""{"model":"openai/gpt-test","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"{{tag}}"}]}""")))
        {
            string body = await messages.Content.ReadAsStringAsync();
            Assert.Contains("from policy", body, StringComparison.Ordinal);
            Assert.Contains("event: message_stop", body, StringComparison.Ordinal);
        }
        Assert.Empty(_upstream.Matching(tag));
    }

    [Fact]
    public async Task Binding_ByModelAndKey_OnlyThoseRequestsRunThePolicy()
    {
        string file = Write("guard.js", "export function onRequest(req) { return { reject: { status: 403, message: 'not for you' } }; }");
        await using var gateway = await Start($$"""[{ "file": "{{file}}", "models": ["openai/*"], "keys": ["master"] }]""");
        using (var openai = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", "x"))))
            Assert.Equal(HttpStatusCode.Forbidden, openai.StatusCode);
        using (var mock = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("mock/echo", "x"))))
            Assert.Equal(HttpStatusCode.OK, mock.StatusCode);
    }

    [Fact]
    public async Task HotReload_EditServedWithoutRestart_BrokenEditKeepsTheLastGoodVersion()
    {
        string file = Write("redact.js", Redact);
        await using var gateway = await Start($$"""[{ "file": "{{file}}" }]""");
        File.WriteAllText(file, Redact.Replace("'[email]'", "'[redacted-v2]'", StringComparison.Ordinal));
        Assert.True(await Eventually(async () =>
        {
            string tag = Tag();
            using var _ = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", $"{tag} x@y.org")));
            return _upstream.Matching(tag).Single().Body.Contains("[redacted-v2]", StringComparison.Ordinal);
        }), "the edited policy was never served");

        File.WriteAllText(file, "export function onRequest(req { broken");
        await Task.Delay(1000);
        string after = Tag();
        using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", $"{after} z@w.org")));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("[redacted-v2]", _upstream.Matching(after).Single().Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_WithAPolicyThatDoesNotCompile_FailsNamingLineAndColumn()
    {
        string file = Write("broken.js", "export function onRequest(req {\n}");
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Start($$"""[{ "file": "{{file}}" }]"""));
        Assert.Contains("broken.js:1:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BuiltinPiiPlaceholders_ProviderNeverSeesTheValues_ClientGetsThemBack()
    {
        await using var gateway = await Start("""[{ "builtin": "pii-redaction", "redact": { "mode": "placeholder" } }]""");
        const string secret = "mail ann@example.org card 4111 1111 1111 1111";
        string tag = Tag();
        using (var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", $"{tag} {secret}"))))
        {
            string content = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
            Assert.Equal($"echo: {tag} {secret}", content);
        }
        var sent = Assert.Single(_upstream.Matching(tag)).Body;
        // Seen once in a full run (not reproduced since): the message says which request leaked what.
        Assert.False(sent.Contains("ann@example.org", StringComparison.Ordinal) || sent.Replace(tag, "", StringComparison.Ordinal).Contains("4111", StringComparison.Ordinal),
            $"chat: the provider saw {sent}");
        Assert.Contains("[EMAIL_1]", sent, StringComparison.Ordinal);

        string streamTag = Tag();
        using (var stream = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", $"{streamTag} {secret}", stream: true))))
        {
            string text = string.Concat((await stream.Content.ReadAsStringAsync()).Split('\n')
                .Where(l => l.StartsWith("data: {", StringComparison.Ordinal))
                .Select(l => JsonDocument.Parse(l[6..]).RootElement.GetProperty("choices"))
                .Where(c => c.GetArrayLength() > 0 && c[0].GetProperty("delta").TryGetProperty("content", out _))
                .Select(c => c[0].GetProperty("delta").GetProperty("content").GetString()));
            Assert.Equal($"echo: {streamTag} {secret}", text);
        }
        string streamSent = Assert.Single(_upstream.Matching(streamTag)).Body;
        Assert.False(streamSent.Contains("ann@example.org", StringComparison.Ordinal), $"stream: the provider saw {streamSent}");

        string messagesTag = Tag();
        using (var messages = await gateway.Client.SendAsync(Post("/v1/messages", $$"""{"model":"openai/gpt-test","max_tokens":20,"messages":[{"role":"user","content":"{{messagesTag}} {{secret}}"}]}""")))
        {
            string text = JsonDocument.Parse(await messages.Content.ReadAsStringAsync()).RootElement.GetProperty("content")[0].GetProperty("text").GetString()!;
            Assert.Equal($"echo: {messagesTag} {secret}", text);
        }
        string messagesSent = Assert.Single(_upstream.Matching(messagesTag)).Body;
        Assert.False(messagesSent.Contains("ann@example.org", StringComparison.Ordinal), $"messages: the provider saw {messagesSent}");
    }

    [Fact]
    public async Task JsHelper_RedactMask_ClientSeesTheMask()
    {
        string file = Write("pii.js", "export function onRequest(req) { for (const m of req.messages) m.content = gateway.redact(m.content, { mode: 'mask', kinds: ['email'] }); return req; }");
        await using var gateway = await Start($$"""[{ "file": "{{file}}" }]""");
        using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", "to a@b.io at 192.168.0.1")));
        Assert.Contains("echo: to [EMAIL] at 192.168.0.1", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OnResponse_ChangesTheAnswer_InReverseOrder()
    {
        string first = Write("first.js", "export function onResponse(res) { res.choices[0].message.content += ' [first]'; return res; }");
        string second = Write("second.js", "export function onResponse(res) { res.choices[0].message.content += ' [second]'; return res; }");
        await using var gateway = await Start($$"""[{ "file": "{{first}}" }, { "file": "{{second}}" }]""");
        using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", "hi")));
        Assert.Equal("echo: hi [second] [first]", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement
            .GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
    }

    [Fact]
    public async Task Route_NamesTheModelToSendTo()
    {
        string file = Write("router.js", "export function route(req, ctx) { return req.messages[0].content.includes('cheap') ? 'mock/echo' : undefined; }");
        await using var gateway = await Start($$"""[{ "file": "{{file}}" }]""");
        string tag = Tag();
        using (var cheap = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", $"{tag} cheap please"))))
        {
            Assert.Equal(HttpStatusCode.OK, cheap.StatusCode);
            Assert.Equal("echo", JsonDocument.Parse(await cheap.Content.ReadAsStringAsync()).RootElement.GetProperty("model").GetString());
        }
        Assert.Empty(_upstream.Matching(tag));
        using (var messages = await gateway.Client.SendAsync(Post("/v1/messages", $$"""{"model":"openai/gpt-test","max_tokens":20,"messages":[{"role":"user","content":"{{tag}} cheap too"}]}""")))
        {
            Assert.Equal(HttpStatusCode.OK, messages.StatusCode);
            Assert.Contains("cheap too", await messages.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        Assert.Empty(_upstream.Matching(tag));
        using var normal = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", $"{tag} normal")));
        Assert.Single(_upstream.Matching(tag));
        // On /v1/messages too, a request the policy leaves alone reaches the provider with the provider's model id.
        using var messagesNormal = await gateway.Client.SendAsync(Post("/v1/messages", $$"""{"model":"openai/gpt-test","max_tokens":20,"messages":[{"role":"user","content":"{{tag}} plain"}]}"""));
        Assert.Equal(HttpStatusCode.OK, messagesNormal.StatusCode);
        Assert.Contains("\"model\":\"gpt-test\"", _upstream.Matching($"{tag} plain").Single().Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OnChunk_TransformsTheStream_RejectEndsItWithAnErrorEvent()
    {
        string upper = Write("upper.js", """
            export function onChunk(chunk) {
              const d = chunk.choices?.[0]?.delta;
              if (d && typeof d.content === 'string') d.content = d.content.toUpperCase();
              if (d && typeof d.content === 'string' && d.content.includes('STOPWORD')) return { reject: { status: 451, message: 'stopped by policy' } };
              return chunk;
            }
            """);
        await using var gateway = await Start($$"""[{ "file": "{{upper}}" }]""");
        using (var stream = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", "make it loud", stream: true))))
        {
            string body = await stream.Content.ReadAsStringAsync();
            string text = string.Concat(body.Split('\n').Where(l => l.StartsWith("data: {", StringComparison.Ordinal))
                .Select(l => JsonDocument.Parse(l[6..]).RootElement.GetProperty("choices"))
                .Where(c => c.GetArrayLength() > 0 && c[0].GetProperty("delta").TryGetProperty("content", out _))
                .Select(c => c[0].GetProperty("delta").GetProperty("content").GetString()));
            Assert.Equal("ECHO: MAKE IT LOUD", text);
            Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);
        }
        using (var stopped = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-test", "a stopword here", stream: true))))
        {
            string body = await stopped.Content.ReadAsStringAsync();
            Assert.Contains("stopped by policy", body, StringComparison.Ordinal);
            Assert.DoesNotContain("[DONE]", body, StringComparison.Ordinal);
        }
        using (var messages = await gateway.Client.SendAsync(Post("/v1/messages", """{"model":"openai/gpt-test","max_tokens":20,"stream":true,"messages":[{"role":"user","content":"quiet"}]}""")))
        {
            string body = await messages.Content.ReadAsStringAsync();
            Assert.Contains("QUIET", body, StringComparison.Ordinal);
            Assert.Contains("message_stop", body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Ctx_CarriesKeyModelAllowedHeadersOnlyAndCandidates()
    {
        string file = Write("ctx.js", """
            export function onRequest(req, ctx) {
              const seen = [ctx.keyId, ctx.model, ctx.headers['x-team'], String(ctx.headers['x-secret']),
                ctx.candidates.map(c => c.name + ':' + c.weight + ':' + c.inputPrice + ':' + c.latencyMs + ':' + c.open + ':' + c.tags.join('+')).join(',')];
              return { reject: { status: 418, message: seen.join('|') } };
            }
            """);
        await using var gateway = await StartAsync(_upstream, configJson: $$"""
            {
              "models": { "smart": { "deployments": [ { "provider": "openai", "model": "gpt-test", "weight": 3, "inputPrice": 0.15, "tags": ["eu", "fast"] }, { "provider": "mock", "model": "echo", "weight": 1 } ] } },
              "policies": [ { "file": "{{file}}", "headers": ["X-Team"], "limits": { "timeoutMs": 3000 } } ]
            }
            """);
        var request = Post("/v1/chat/completions", Chat("smart", "x"));
        request.Headers.Add("x-team", "research");
        request.Headers.Add("x-secret", "hunter2");
        using var response = await gateway.Client.SendAsync(request);
        Assert.Equal((HttpStatusCode)418, response.StatusCode);
        Assert.Equal("master|smart|research|undefined|openai/gpt-test:3:0.15:0:false:eu+fast,mock/echo:1:0:0:false:",
            JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("message").GetString());
    }

    private static async Task<bool> Eventually(Func<Task<bool>> condition)
    {
        for (int i = 0; i < 50; i++)
        {
            if (await condition()) return true;
            await Task.Delay(100);
        }
        return false;
    }
}
