using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.FunctionalTests.Infrastructure;

/// <summary>
/// A fake OpenAI on 127.0.0.1:0 (real Kestrel). Answers "echo: &lt;last user text&gt;", records every request,
/// and injects faults named in the last user text: fault:500, fault:429, fault:401, fault:reset-mid-stream,
/// fault:slow-headers:MS, fault:slow-first-token:MS, fault:slow-stream:MS, fault:no-done,
/// fault:garbage-frame (a stream event that is not JSON), fault:500-once and fault:429-once (the first
/// request with that text fails), fault:500-model:M (only requests for model M fail).
/// </summary>
public sealed class TestUpstream : IAsyncDisposable
{
    public const string Key = "sk-upstream-test";
    private readonly WebApplication _app;

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();
    private readonly ConcurrentDictionary<string, bool> _failedOnce = new(StringComparer.Ordinal);
    public string BaseUrl { get; }
    public string Root => BaseUrl[..^"/v1".Length];

    private TestUpstream(WebApplication app, string baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    public static async Task<TestUpstream> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        TestUpstream? self = null;
        app.MapPost("/v1/chat/completions", ctx => self!.ChatAsync(ctx));
        app.MapPost("/v1/embeddings", ctx => self!.EmbeddingsAsync(ctx));
        app.MapPost("/anthropic/v1/messages", ctx => self!.AnthropicAsync(ctx));
        app.MapPost("/bedrock/model/{model}/{action}", ctx => self!.BedrockAsync(ctx));
        app.MapPost("/gemini/v1beta/models/{**method}", ctx => self!.GeminiAsync(ctx));
        app.MapPost("/v1/responses", ctx => self!.ResponsesAsync(ctx));
        // Azure OpenAI's deployment route (api-key header, api-version query)
        app.MapPost("/openai/deployments/{deployment}/chat/completions", ctx => self!.ChatAsync(ctx));
        // Azure's Responses API: the OpenAI-compatible v1 surface (api-key header, no deployment in the path, no api-version)
        app.MapPost("/openai/v1/responses", ctx => self!.ResponsesAsync(ctx));
        app.MapGet("/v1/models", async ctx =>
        {
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync("""{"object":"list","data":[{"id":"gpt-test","object":"model"},{"id":"text-embedding-test","object":"model"}]}""");
        });
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new TestUpstream(app, address + "/v1");
        return self;
    }

    public RecordedRequest[] Matching(string marker) => Requests.Where(r => r.Body.Contains(marker, StringComparison.Ordinal)).ToArray();

    private async Task<(RecordedRequest Record, JsonElement Body)> RecordAsync(HttpContext ctx)
    {
        using var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8);
        string body = await reader.ReadToEndAsync();
        var record = new RecordedRequest(ctx.Request.Path + ctx.Request.QueryString, ctx.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()), body);
        ctx.RequestAborted.Register(() => record.Aborted.TrySetResult());
        Requests.Enqueue(record);
        return (record, JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 1024 }).RootElement.Clone());
    }

    private async Task ChatAsync(HttpContext ctx)
    {
        var (record, body) = await RecordAsync(ctx);
        bool azure = ctx.Request.Path.StartsWithSegments("/openai/deployments");
        if (azure ? ctx.Request.Headers["api-key"] != Key || !ctx.Request.Query.ContainsKey("api-version") : ctx.Request.Headers.Authorization != $"Bearer {Key}")
        {
            await ErrorAsync(ctx, 401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key");
            return;
        }
        string text = body.GetProperty("messages").EnumerateArray().Last(m => m.GetProperty("role").GetString() == "user").GetProperty("content").GetString() ?? "";
        bool stream = body.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
        bool usage = body.TryGetProperty("stream_options", out var so) && so.TryGetProperty("include_usage", out var iu) && iu.ValueKind == JsonValueKind.True;
        string model = body.GetProperty("model").GetString()!;
        string reply = "echo: " + text;

        // "-once": the first request with this exact text fails, the ones after it succeed.
        if (text.Contains("fault:500-once") && _failedOnce.TryAdd(text, true)) { await ErrorAsync(ctx, 500, "The server had an error (once).", "server_error", null); return; }
        if (text.Contains("fault:429-once") && _failedOnce.TryAdd(text, true))
        {
            ctx.Response.Headers["retry-after"] = "1";
            await ErrorAsync(ctx, 429, "Rate limit reached for requests", "requests", "rate_limit_exceeded");
            return;
        }
        // "fault:500-model:M": only requests for model M fail.
        if (text.Contains("fault:500-model:", StringComparison.Ordinal))
        {
            int at = text.IndexOf("fault:500-model:", StringComparison.Ordinal) + "fault:500-model:".Length;
            string failing = text[at..].Split(' ')[0];
            if (model == failing) { await ErrorAsync(ctx, 500, $"The model {model} is failing.", "server_error", null); return; }
        }
        else if (text.Contains("fault:500") && !text.Contains("fault:500-once")) { await ErrorAsync(ctx, 500, "The server had an error while processing your request. Sorry about that!", "server_error", null); return; }
        if (text.Contains("fault:context-length")) { await ErrorAsync(ctx, 400, "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.", "invalid_request_error", "context_length_exceeded"); return; }
        if (text.Contains("fault:401")) { await ErrorAsync(ctx, 401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"); return; }
        if (text.Contains("fault:429") && !text.Contains("fault:429-once"))
        {
            ctx.Response.Headers["retry-after"] = "3";
            await ErrorAsync(ctx, 429, "Rate limit reached for requests", "requests", "rate_limit_exceeded");
            return;
        }
        if (text.Contains("fault:redirect", StringComparison.Ordinal))
        {
            ctx.Response.StatusCode = 302;
            ctx.Response.Headers.Location = "http://127.0.0.1:1/elsewhere";
            return;
        }
        if (Fault(text, "fault:slow-headers:") is { } headersDelay) await Task.Delay(headersDelay, ctx.RequestAborted);

        if (!stream)
        {
            // "fault:deep-answer": an answer nested deeper than the gateway accepts from clients.
            string details = UsageDetails(text);
            string deep = text.Contains("fault:deep-answer", StringComparison.Ordinal) ? ",\"deep\":" + new string('[', 400) + new string(']', 400) : "";
            string json = $$$"""{"id":"chatcmpl-up","object":"chat.completion","created":1,"model":"{{{model}}}","choices":[{"index":0,"message":{"role":"assistant","content":{{{JsonSerializer.Serialize(reply, TestJson.Default.String)}}}},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15{{{details}}}}{{{deep}}}}""";
            ctx.Response.ContentType = "application/json";
            ctx.Response.Headers["x-request-id"] = "req-upstream-1";
            var bytes = Encoding.UTF8.GetBytes(json);
            ctx.Response.ContentLength = bytes.Length;
            if (text.Contains("fault:reset-mid-stream"))
            {
                await ctx.Response.Body.WriteAsync(bytes.AsMemory(0, bytes.Length / 2));
                await ctx.Response.Body.FlushAsync();
                await Task.Delay(50);
                ctx.Abort();
                return;
            }
            await ctx.Response.Body.WriteAsync(bytes);
            return;
        }

        ctx.Response.ContentType = "text/event-stream; charset=utf-8";
        await ctx.Response.StartAsync();
        await ctx.Response.Body.FlushAsync();
        if (Fault(text, "fault:slow-first-token:") is { } firstDelay) await Task.Delay(firstDelay, ctx.RequestAborted);
        int? every = Fault(text, "fault:slow-stream:");
        var pieces = every is null ? reply.Split(' ').Select((w, i) => i == 0 ? w : " " + w).ToList() : Enumerable.Repeat("x", 200).ToList();
        await FrameAsync(ctx, $$$"""{"id":"chatcmpl-up","object":"chat.completion.chunk","created":1,"model":"{{{model}}}","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}""");
        for (int i = 0; i < pieces.Count; i++)
        {
            if (every is not null) await Task.Delay(every.Value, ctx.RequestAborted);
            await FrameAsync(ctx, $$$"""{"id":"chatcmpl-up","object":"chat.completion.chunk","created":1,"model":"{{{model}}}","choices":[{"index":0,"delta":{"content":{{{JsonSerializer.Serialize(pieces[i], TestJson.Default.String)}}}},"finish_reason":null}]}""");
            if (i == 1 && text.Contains("fault:garbage-frame")) await ctx.Response.WriteAsync("data: {\"id\":oops\n\n");
            if (i == 1 && text.Contains("fault:reset-mid-stream"))
            {
                await Task.Delay(50);
                ctx.Abort();
                return;
            }
        }
        await FrameAsync(ctx, $$$"""{"id":"chatcmpl-up","object":"chat.completion.chunk","created":1,"model":"{{{model}}}","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}""");
        if (usage) await FrameAsync(ctx, $$$"""{"id":"chatcmpl-up","object":"chat.completion.chunk","created":1,"model":"{{{model}}}","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15{{{UsageDetails(text)}}}}}""");
        if (!text.Contains("fault:no-done")) await ctx.Response.WriteAsync("data: [DONE]\n\n");
        record.Completed = true;
    }

    /// <summary>"usage-details" in the text: the usage carries cached and reasoning tokens too.</summary>
    private static string UsageDetails(string text) => text.Contains("usage-details", StringComparison.Ordinal)
        ? ",\"prompt_tokens_details\":{\"cached_tokens\":4},\"completion_tokens_details\":{\"reasoning_tokens\":2}" : "";

    /// <summary>A minimal native Anthropic Messages endpoint: canned answers whose bytes the tests compare.</summary>
    public const string AnthropicAnswer = "{\"id\":\"msg_up\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-test\",\"content\":[{\"type\":\"text\",\"text\":\"native\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}";
    public const string AnthropicEvents =
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_up\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-test\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":0}}}\n\n" +
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
        "event: ping\ndata: {\"type\": \"ping\"}\n\n" +
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"native\"}}\n\n" +
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":1}}\n\n" +
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

    /// <summary>OpenAI's Responses API: "echo: text" (the input string, or the last item's text), 8 tokens in, 2 out.</summary>
    private async Task ResponsesAsync(HttpContext ctx)
    {
        var (_, body) = await RecordAsync(ctx);
        bool azure = ctx.Request.Path.StartsWithSegments("/openai");
        if (azure ? ctx.Request.Headers["api-key"] != Key || ctx.Request.Query.Count > 0 : ctx.Request.Headers.Authorization != $"Bearer {Key}")
        {
            await ErrorAsync(ctx, 401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key");
            return;
        }
        var input = body.GetProperty("input");
        string text = input.ValueKind == JsonValueKind.String ? input.GetString()! : input.EnumerateArray().Last().GetProperty("content").GetString() ?? "";
        if (text.Contains("fault:429", StringComparison.Ordinal))
        {
            ctx.Response.Headers["retry-after"] = "3";
            await ErrorAsync(ctx, 429, "Rate limit reached for requests", "requests", "rate_limit_exceeded");
            return;
        }
        if (body.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True)
        {
            ctx.Response.ContentType = "text/event-stream";
            await ctx.Response.WriteAsync(ResponsesEvents(text));
            return;
        }
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(ResponsesAnswer(text));
    }

    public static string ResponsesAnswer(string text) =>
        "{\"id\":\"resp_up\",\"object\":\"response\",\"status\":\"completed\",\"output\":[{\"type\":\"message\",\"id\":\"msg_up\",\"role\":\"assistant\",\"status\":\"completed\",\"content\":[{\"type\":\"output_text\",\"text\":"
        + JsonSerializer.Serialize("echo: " + text, TestJson.Default.String) + ",\"annotations\":[]}]}],\"usage\":{\"input_tokens\":8,\"input_tokens_details\":{\"cached_tokens\":0},\"output_tokens\":2,\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":10}}";

    public static string ResponsesEvents(string text) =>
        "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_up\",\"status\":\"in_progress\",\"output\":[]}}\n\n"
        + "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":1,\"item_id\":\"msg_up\",\"output_index\":0,\"content_index\":0,\"delta\":\"echo\"}\n\n"
        + "event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":2,\"response\":" + ResponsesAnswer(text) + "}\n\n";

    /// <summary>The start of a Gemini stream's frames; the second and last carries the finish and the usage.</summary>
    public static string GeminiFrame(string text, bool last) =>
        "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":" + JsonSerializer.Serialize(text, TestJson.Default.String) + "}]},"
        + (last ? "\"finishReason\":\"STOP\"," : "") + "\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":" + (last ? 3 : 1)
        + ",\"totalTokenCount\":" + (last ? 7 : 5) + "},\"modelVersion\":\"gemini-test\"}\r\n\r\n";

    /// <summary>Google AI Studio's generateContent and streamGenerateContent (x-goog-api-key): "echo: text", usage 4 in, 3 out.</summary>
    private async Task GeminiAsync(HttpContext ctx)
    {
        var (_, body) = await RecordAsync(ctx);
        if (ctx.Request.Headers["x-goog-api-key"] != Key)
        {
            ctx.Response.StatusCode = 400;
            await ctx.Response.WriteAsync("""{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}""");
            return;
        }
        string text = body.GetProperty("contents").EnumerateArray().Last().GetProperty("parts")[0].GetProperty("text").GetString() ?? "";
        if (text.Contains("fault:429", StringComparison.Ordinal))
        {
            ctx.Response.StatusCode = 429;
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync("""{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}""");
            return;
        }
        if (ctx.Request.Path.Value!.EndsWith(":streamGenerateContent", StringComparison.Ordinal))
        {
            ctx.Response.ContentType = "text/event-stream";
            await ctx.Response.WriteAsync(GeminiFrame("echo: ", last: false));
            await ctx.Response.Body.FlushAsync();
            if (!text.Contains("fault:no-finish", StringComparison.Ordinal)) await ctx.Response.WriteAsync(GeminiFrame(text, last: true));
            return;
        }
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(GeminiAnswer(text));
    }

    public static string GeminiAnswer(string text) =>
        "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":" + JsonSerializer.Serialize("echo: " + text, TestJson.Default.String)
        + "}]},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":3,\"totalTokenCount\":7},\"modelVersion\":\"gemini-test\"}";

    private async Task AnthropicAsync(HttpContext ctx)
    {
        var (_, body) = await RecordAsync(ctx);
        if (ctx.Request.Headers["x-api-key"] != Key)
        {
            ctx.Response.StatusCode = 401;
            await ctx.Response.WriteAsync("{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\",\"message\":\"invalid x-api-key\"}}");
            return;
        }
        var content = body.GetProperty("messages")[0].GetProperty("content");
        string text = content.ValueKind == JsonValueKind.String ? content.GetString()! : string.Concat(content.EnumerateArray().Select(b => b.GetProperty("text").GetString()));
        if (text.Contains("fault:529"))
        {
            ctx.Response.StatusCode = 529;
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync("{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"},\"request_id\":\"req_up\"}");
            return;
        }
        bool stream = body.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
        ctx.Response.ContentType = stream ? "text/event-stream; charset=utf-8" : "application/json";
        await ctx.Response.WriteAsync(stream ? AnthropicEvents : AnthropicAnswer);
    }

    public const string BedrockKeyId = "AKIDTESTGATEWAY";
    public const string BedrockSecret = "test/secret/key";

    /// <summary>Bedrock Converse: verifies the SigV4 signature over what actually arrived, answers JSON or a binary event stream.</summary>
    private async Task BedrockAsync(HttpContext ctx)
    {
        var (record, body) = await RecordAsync(ctx);
        string rawTarget = ctx.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget;
        record.Headers["raw-target"] = rawTarget;
        string authorization = ctx.Request.Headers.Authorization.ToString();
        string date = ctx.Request.Headers["x-amz-date"].ToString();
        var time = DateTimeOffset.ParseExact(date, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        string canonicalUri = string.Join('/', rawTarget.Split('/').Select(Gateway.Providers.Bedrock.AwsSigV4.UriEncode));
        var signed = new Dictionary<string, string> { ["host"] = ctx.Request.Host.Value!, ["content-type"] = ctx.Request.ContentType!, ["x-amz-date"] = date };
        string expected = Gateway.Providers.Bedrock.AwsSigV4.Authorization("POST", canonicalUri, "", signed,
            Gateway.Providers.Bedrock.AwsSigV4.PayloadHash(Encoding.UTF8.GetBytes(record.Body)),
            new Gateway.Providers.Bedrock.AwsCredentials(BedrockKeyId, BedrockSecret, null), "us-test-1", "bedrock", time);
        if (authorization != expected)
        {
            ctx.Response.StatusCode = 403;
            ctx.Response.Headers["x-amzn-errortype"] = "InvalidSignatureException:http://internal.amazon.com/coral/com.amazon.coral.service/";
            await ctx.Response.WriteAsync("{\"message\":\"The request signature we calculated does not match the signature you provided.\"}");
            return;
        }
        if (ctx.Request.RouteValues["action"] as string == "invoke")
        {
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync("{\"embedding\":[0.25,-0.5],\"inputTextTokenCount\":3}");
            return;
        }
        var turns = body.GetProperty("messages");
        string text = turns[turns.GetArrayLength() - 1].GetProperty("content")[0].GetProperty("text").GetString()!;
        if (ctx.Request.RouteValues["action"] as string == "converse")
        {
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync($$$"""{"output":{"message":{"role":"assistant","content":[{"text":"echo: {{{text}}}"}]}},"stopReason":"end_turn","usage":{"inputTokens":7,"outputTokens":3,"totalTokens":10},"metrics":{"latencyMs":5}}""");
            return;
        }
        ctx.Response.ContentType = "application/vnd.amazon.eventstream";
        foreach (var (type, json) in new[]
        {
            ("messageStart", "{\"role\":\"assistant\"}"),
            ("contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"echo: \"}}"),
            ("contentBlockDelta", $$$"""{"contentBlockIndex":0,"delta":{"text":"{{{text}}}"}}"""),
            ("contentBlockStop", "{\"contentBlockIndex\":0}"),
            ("messageStop", "{\"stopReason\":\"end_turn\"}"),
            ("metadata", "{\"usage\":{\"inputTokens\":7,\"outputTokens\":3,\"totalTokens\":10},\"metrics\":{\"latencyMs\":5}}"),
        })
        {
            await ctx.Response.Body.WriteAsync(Gateway.Providers.Bedrock.AwsEventStreamDecoder.Encode(
                [new(":event-type", type), new(":content-type", "application/json"), new(":message-type", "event")], Encoding.UTF8.GetBytes(json)));
            await ctx.Response.Body.FlushAsync();
        }
    }

    private async Task EmbeddingsAsync(HttpContext ctx)
    {
        var (_, body) = await RecordAsync(ctx);
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync($$$"""{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.6,0.8]}],"model":"{{{body.GetProperty("model").GetString()}}}","usage":{"prompt_tokens":2,"total_tokens":2}}""");
    }

    private static async Task FrameAsync(HttpContext ctx, string json)
    {
        await ctx.Response.WriteAsync("data: " + json + "\n\n", ctx.RequestAborted);
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
    }

    private static Task ErrorAsync(HttpContext ctx, int status, string message, string type, string? code)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        string codeJson = code is null ? "null" : $"\"{code}\"";
        return ctx.Response.WriteAsync($$$"""{"error":{"message":"{{{message}}}","type":"{{{type}}}","param":null,"code":{{{codeJson}}}}}""");
    }

    private static int? Fault(string text, string prefix)
    {
        int at = text.IndexOf(prefix, StringComparison.Ordinal);
        if (at < 0) return null;
        var digits = new string(text[(at + prefix.Length)..].TakeWhile(char.IsAsciiDigit).ToArray());
        return int.Parse(digits, CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

public sealed class RecordedRequest(string path, Dictionary<string, string> headers, string body)
{
    public string Path { get; } = path;
    public Dictionary<string, string> Headers { get; } = headers;
    public string Body { get; } = body;
    public TaskCompletionSource Aborted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public volatile bool Completed;
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class TestJson : System.Text.Json.Serialization.JsonSerializerContext;
