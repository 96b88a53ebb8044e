using System.Net.Http.Headers;
using System.Text;
using Gateway.Server.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Server.FunctionalTests.Infrastructure;

/// <summary>The real gateway (Kestrel on 127.0.0.1:0) with its own environment and data folder.</summary>
public sealed class GatewayUnderTest : IAsyncDisposable
{
    public const string MasterKey = "gw-test-master-key";
    private readonly WebApplication _app;

    private GatewayUnderTest(WebApplication app, string url, string dataDir, StringWriter banner)
    {
        _app = app;
        Url = url;
        DataDir = dataDir;
        Banner = banner;
        Client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>The gateway's services, for tests that must observe its state (a queue's length).</summary>
    public IServiceProvider Services => _app.Services;

    public string Url { get; }
    public string DataDir { get; }
    public StringWriter Banner { get; }
    public HttpClient Client { get; }

    public static async Task<GatewayUnderTest> StartAsync(TestUpstream? upstream = null, string? configJson = null,
        Dictionary<string, string>? env = null, bool masterKey = true, string? dataDir = null, string? configPath = null,
        CapturingLoggerProvider? logs = null, Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? services = null, TimeProvider? time = null)
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
            ConfigureLogging = logs is null ? null : b => b.AddProvider(logs),
            ConfigureServices = services,
            Time = time ?? TimeProvider.System,
            PolicyMeterInterval = TimeSpan.FromMilliseconds(200),
        });
        if (app is null) throw new InvalidOperationException("gateway config invalid: " + string.Join("; ", errors));
        await app.StartAsync();
        string url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
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

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
