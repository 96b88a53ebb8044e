using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Server.FunctionalTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.Policies;

/// <summary>
/// A policy binds to the model the gateway routes, whatever JSON escapes the client wrote it with:
/// every escape form against every binding form, on each endpoint policies run on.
/// </summary>
public sealed class PolicyBindingTests : IAsyncLifetime
{
    private const string Guard = "export function onRequest(req, ctx) { return { reject: { status: 451, message: 'bound:' + ctx.model + ':' + req.model } }; }";
    private readonly string _dir = Directory.CreateTempSubdirectory("gw-binding-").FullName;
    private TestUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await TestUpstream.StartAsync();

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    public static TheoryData<string, string> Bindings => new()
    {
        // binding pattern, the model a client asks for
        { "openai/gpt-4o-mini", "openai/gpt-4o-mini" },
        { "openai/gpt-4o*", "openai/gpt-4o-mini" },
        { "openai/*", "openai/gpt-4o-mini" },
        { "fast", "fast" },
        { "pool", "pool" },
        { "\U0001F680fast", "\U0001F680fast" },
    };

    [Theory]
    [MemberData(nameof(Bindings))]
    public async Task EveryEscapeForm_RunsThePolicy_OnChatMessagesAndEmbeddings(string binding, string model)
    {
        string file = Path.Combine(_dir, "guard.js");
        File.WriteAllText(file, Guard);
        string bindingJson = JsonSerializer.Serialize(binding, TestJson.Default.String);
        await using var gateway = await StartAsync(_upstream, configJson: $$"""
            {
              "models": {
                "fast": { "deployments": [ { "provider": "openai", "model": "gpt-4o-mini" } ] },
                "pool": { "deployments": [ { "provider": "openai", "model": "gpt-4o-mini" }, { "provider": "openai", "model": "gpt-4o" } ] },
                "\ud83d\ude80fast": { "deployments": [ { "provider": "openai", "model": "gpt-4o-mini" } ] }
              },
              "policies": [ { "file": "{{file.Replace("\\", "/", StringComparison.Ordinal)}}", "models": [{{bindingJson}}], "limits": { "timeoutMs": 3000 } } ]
            }
            """);
        foreach (var (form, literal) in EscapeForms(model))
        {
            foreach (string key in new[] { "model", "mod\\u0065l", "\\u006d\\u006f\\u0064\\u0065\\u006c" })
            {
                var cases = new (string Path, string Body)[]
                {
                    ("/v1/chat/completions", $$"""{"{{key}}":"{{literal}}","messages":[{"role":"user","content":"hi"}]}"""),
                    ("/v1/messages", $$"""{"{{key}}":"{{literal}}","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"""),
                    ("/v1/embeddings", $$"""{"{{key}}":"{{literal}}","input":"hi"}"""),
                };
                foreach (var (path, body) in cases)
                {
                    using var response = await gateway.Client.SendAsync(Post(path, body));
                    string text = await response.Content.ReadAsStringAsync();
                    Assert.True(response.StatusCode == (HttpStatusCode)451, $"{path} {form} key {key}: {(int)response.StatusCode} {text}");
                    // ctx.model and req.model are both the decoded name.
                    Assert.Contains($"bound:{model}:{model}", JsonDocument.Parse(text).RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
                }
            }
        }
        Assert.Empty(_upstream.Requests);
    }

    [Fact]
    public async Task AnotherModel_IsNotBound_EvenWhenEscaped()
    {
        string file = Path.Combine(_dir, "guard.js");
        File.WriteAllText(file, Guard);
        await using var gateway = await StartAsync(_upstream, configJson: $$"""
            { "policies": [ { "file": "{{file}}", "models": ["openai/*"], "limits": { "timeoutMs": 3000 } } ] }
            """);
        using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", """{"model":"mock\/echo","messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("/v1/chat/completions", "{\"model\":\"openai/gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")]
    [InlineData("/v1/chat/completions", "{\"model\":\"openai\\/gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")]
    [InlineData("/v1/messages", "{\"model\":\"openai/gpt-4o-mini\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")]
    [InlineData("/v1/embeddings", "{\"model\":\"openai/text-embedding-3-small\",\"input\":\"hi\"}")]
    public async Task KeyModelRestriction_IsCheckedBeforeAnyPolicy(string path, string body)
    {
        string file = Path.Combine(_dir, "answer.js");
        // A policy that would answer in the provider's place, and one that would refuse: neither may speak first.
        File.WriteAllText(file, "export function onRequest(req) { return { reject: { status: 451, message: 'policy spoke first' } }; }");
        string hash = Gateway.Core.Config.KeyHashing.Format(Gateway.Core.Config.KeyHashing.Hash("limited-key"));
        await using var gateway = await StartAsync(_upstream, configJson: $$"""
            {
              "keys": [ { "id": "limited", "hash": "{{hash}}", "models": ["mock/*"] } ],
              "policies": [ { "file": "{{file}}", "limits": { "timeoutMs": 3000 } } ]
            }
            """);
        using var response = await gateway.Client.SendAsync(Post(path, body, key: "limited-key"));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Forbidden, text);
        Assert.DoesNotContain("policy spoke first", text, StringComparison.Ordinal);
        using var allowed = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("mock/echo", "hi"), key: "limited-key"));
        Assert.Equal((HttpStatusCode)451, allowed.StatusCode);
    }

    [Fact]
    public async Task BuiltinPiiRedaction_CoversEmbeddingsInput()
    {
        await using var gateway = await StartAsync(_upstream, configJson: """
            { "policies": [ { "builtin": "pii-redaction", "limits": { "timeoutMs": 3000 } } ] }
            """);
        string tag = "t" + Guid.NewGuid().ToString("N")[..10];
        using var single = await gateway.Client.SendAsync(Post("/v1/embeddings", $$"""{"model":"openai/text-embedding-3-small","input":"{{tag}} ann@example.org"}"""));
        Assert.Equal(HttpStatusCode.OK, single.StatusCode);
        using var many = await gateway.Client.SendAsync(Post("/v1/embeddings", $$"""{"model":"openai/text-embedding-3-small","input":["{{tag}} card 4111 1111 1111 1111","{{tag}} plain"]}"""));
        Assert.Equal(HttpStatusCode.OK, many.StatusCode);
        var sent = _upstream.Matching(tag);
        Assert.Equal(2, sent.Length);
        Assert.All(sent, r => Assert.DoesNotContain("ann@example.org", r.Body, StringComparison.Ordinal));
        Assert.All(sent, r => Assert.DoesNotContain("4111 1111 1111 1111", r.Body, StringComparison.Ordinal));
        Assert.Contains(sent, r => r.Body.Contains("[EMAIL", StringComparison.Ordinal));
        Assert.Contains(sent, r => r.Body.Contains("[CARD", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DeeplyNestedRequest_TheGatewayAccepts_IsStillRedactedByAFailOpenPolicy()
    {
        // Policies used to read JSON only 64 deep: a tool schema nested deeper made every policy fail,
        // and a fail-open redaction was skipped, sending the email out.
        await using var gateway = await StartAsync(_upstream, configJson: """
            { "policies": [ { "builtin": "pii-redaction", "mode": "fail-open", "limits": { "timeoutMs": 3000 } } ] }
            """);
        string tag = "t" + Guid.NewGuid().ToString("N")[..10];
        string schema = string.Concat(Enumerable.Repeat("{\"type\":\"object\",\"properties\":{\"a\":", 120)) + "{\"type\":\"string\"}" + new string('}', 240);
        string body = "{\"model\":\"openai/gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"" + tag + " ann@example.org\"}],"
            + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":" + schema + "}}]}";
        using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", body));
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var sent = Assert.Single(_upstream.Matching(tag));
        Assert.DoesNotContain("ann@example.org", sent.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnswerAPolicyCannotBeShown_IsWithheld_EvenByAFailOpenPolicy()
    {
        string file = Path.Combine(_dir, "filter.js");
        File.WriteAllText(file, "export function onResponse(res) { res.filtered = true; return res; }");
        await using var gateway = await StartAsync(_upstream, configJson: $$"""
            { "policies": [ { "file": "{{file}}", "mode": "fail-open", "limits": { "timeoutMs": 3000 } } ] }
            """);
        using var response = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-4o-mini", "fault:deep-answer")));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadGateway, text);
        Assert.Equal("answer_not_inspectable", JsonDocument.Parse(text).RootElement.GetProperty("error").GetProperty("code").GetString());
        // Without a policy bound, the gateway relays the same answer as it is.
        using var plain = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("mock/echo", "x")));
        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
    }

    [Fact]
    public async Task BusyPolicies_AreCapped_AndNeverHoldUpRequestsTheyDoNotBind()
    {
        string file = Path.Combine(_dir, "slow.js");
        // CPU-bound for two seconds a call: more of these than workers must wait, never take the request path's threads.
        File.WriteAllText(file, "export function onRequest(req) { const end = Date.now() + 2000; while (Date.now() < end) {} }");
        await using var gateway = await StartAsync(_upstream, configJson: $$"""
            {
              "server": { "policyWorkers": 1, "policyQueueMs": 3000 },
              "policies": [ { "file": "{{file}}", "models": ["openai/*"], "limits": { "timeoutMs": 10000, "maxStatements": 2000000000, "maxMemoryBytes": 100000000000 } } ]
            }
            """);
        var runner = gateway.Parts.Policies.Runner;
        Assert.Equal(1, runner.Workers);
        var slow = Enumerable.Range(0, 8).Select(_ => gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("openai/gpt-4o-mini", "slow")))).ToArray();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (runner.Queued == 0 && DateTime.UtcNow < deadline) await Task.Delay(5);
        Assert.True(runner.Queued > 0, "the slow calls never queued");

        // A request no policy binds to is answered while the policy calls still wait for the one worker.
        using (var unbound = await gateway.Client.SendAsync(Post("/v1/chat/completions", Chat("mock/echo", "quick"))))
            Assert.Equal(HttpStatusCode.OK, unbound.StatusCode);
        Assert.Contains(slow, t => !t.IsCompleted);

        var answers = await Task.WhenAll(slow);
        // One worker, two seconds each, 3 s of queue: the first two run, the rest are refused as overloaded.
        Assert.Contains(answers, r => r.StatusCode == HttpStatusCode.OK);
        var busy = answers.Where(r => r.StatusCode == HttpStatusCode.ServiceUnavailable).ToArray();
        Assert.NotEmpty(busy);
        Assert.Equal("policies_busy", JsonDocument.Parse(await busy[0].Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("1", busy[0].Headers.RetryAfter?.ToString());
        foreach (var r in answers) r.Dispose();
    }

    /// <summary>The model as a JSON string's contents, written each way JSON allows.</summary>
    private static IEnumerable<(string Form, string Literal)> EscapeForms(string model)
    {
        yield return ("plain", model);
        if (model.Contains('/', StringComparison.Ordinal)) yield return ("\\/", model.Replace("/", "\\/", StringComparison.Ordinal));
        int ascii = model.Length - 1; // an ASCII letter in every name here
        yield return ("\\u00XX", model[..ascii] + $"\\u{(int)model[ascii]:x4}" + model[(ascii + 1)..]);
        yield return ("\\u00XX upper", model[..ascii] + $"\\u{(int)model[ascii]:X4}" + model[(ascii + 1)..]);
        // Every UTF-16 unit escaped: a character outside the BMP becomes a surrogate pair.
        var all = new StringBuilder();
        foreach (char c in model) all.Append($"\\u{(int)c:x4}");
        yield return ("all escaped", all.ToString());
    }
}
