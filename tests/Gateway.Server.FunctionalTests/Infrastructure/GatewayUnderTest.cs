using System.Net.Http.Headers;
using System.Text;
using Gateway.Server.Hosting;

namespace Gateway.Server.FunctionalTests.Infrastructure;

/// <summary>The real gateway (Kestrel on 127.0.0.1:0) with its own environment and data folder.</summary>
public sealed class GatewayUnderTest : IAsyncDisposable
{
    public const string MasterKey = "gw-test-master-key";
    private readonly GatewayApp _app;

    private GatewayUnderTest(GatewayApp app, string url, string dataDir, StringWriter banner)
    {
        _app = app;
        Url = url;
        DataDir = dataDir;
        Banner = banner;
        Client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>The gateway's parts, for tests that must observe its state (a breaker, a snapshot, the metrics).</summary>
    internal GatewayParts Parts => _app.Parts;

    public string Url { get; }
    public string DataDir { get; }
    public StringWriter Banner { get; }
    public HttpClient Client { get; }

    internal static async Task<GatewayUnderTest> StartAsync(TestUpstream? upstream = null, string? configJson = null,
        Dictionary<string, string>? env = null, bool masterKey = true, string? dataDir = null, string? configPath = null,
        CapturingLoggerProvider? logs = null, IReadOnlyList<Gateway.Server.Pipeline.IRequestSink>? sinks = null, TextWriter? logOutput = null, TimeProvider? time = null)
    {
        dataDir ??= Directory.CreateTempSubdirectory("gw-test-").FullName;
        var environment = new Dictionary<string, string> { ["GATEWAY_DATA_DIR"] = dataDir, ["GATEWAY_LOG_LEVEL"] = "Warning" };
        if (masterKey) environment["GATEWAY_MASTER_KEY"] = MasterKey;
        if (upstream is not null)
        {
            environment["OPENAI_API_KEY"] = TestUpstream.Key;
            environment["OPENAI_BASE_URL"] = upstream.BaseUrl;
            environment["UPSTREAM_URL"] = upstream.BaseUrl;
        }
        foreach (var (k, v) in env ?? []) environment[k] = v;
        if (configJson is not null)
        {
            configPath ??= Path.Combine(dataDir, "gateway.json");
            await File.WriteAllTextAsync(configPath, configJson.Replace("$UPSTREAM_ROOT", upstream?.Root ?? "", StringComparison.Ordinal).Replace("$UPSTREAM", upstream?.BaseUrl ?? "", StringComparison.Ordinal));
        }
        var banner = new StringWriter();
        var (app, errors) = GatewayHost.Create(new GatewayHostOptions
        {
            ConfigPath = configPath,
            Urls = "http://127.0.0.1:0",
            Environment = environment,
            Banner = banner,
            ExtraLogs = logs,
            LogOutput = logOutput,
            ExtraSinks = sinks ?? [],
            Time = time ?? TimeProvider.System,
            PolicyMeterInterval = TimeSpan.FromMilliseconds(200),
        });
        if (app is null) throw new InvalidOperationException("gateway config invalid: " + string.Join("; ", errors));
        await app.StartAsync();
        string url = app.Addresses.First();
        return new GatewayUnderTest(app, url, dataDir, banner);
    }

    public static HttpRequestMessage Post(string path, string json, string? key = MasterKey)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return request;
    }

    public static string Chat(string model, string text, bool stream = false, bool includeUsage = false) =>
        "{\"model\":\"" + model + "\",\"stream\":" + (stream ? "true" : "false") +
        (includeUsage ? ",\"stream_options\":{\"include_usage\":true}" : "") +
        ",\"messages\":[{\"role\":\"user\",\"content\":" + System.Text.Json.JsonSerializer.Serialize(text, TestJson.Default.String) + "}]}";

    /// <summary>A graceful stop (what SIGTERM asks): requests in flight finish, new ones are refused.</summary>
    internal Task StopAsync() => _app.StopAsync();

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.DisposeAsync();
    }
}
