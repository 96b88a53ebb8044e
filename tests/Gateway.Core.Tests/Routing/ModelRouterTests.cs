using System.Text;
using Gateway.Core.Auth;
using Gateway.Core.Config;
using Gateway.Core.Json;
using Gateway.Core.Providers;
using Gateway.Core.Routing;

namespace Gateway.Core.Tests.Routing;

public class ModelRouterTests
{
    private static readonly GatewayKey AnyModel = new("k", false, []);

    private static GatewaySnapshot Snapshot()
    {
        var config = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, """
            { "providers": { "local": { "type": "openai-compatible", "baseUrl": "http://127.0.0.1:1/v1" } },
              "models": { "fast": "local/llama-3.1-8b" } }
            """, "gw.json", new Dictionary<string, string>()).Config!;
        var providers = config.Providers.ToDictionary(kv => kv.Key, kv => (IProvider)new StubProvider(kv.Value));
        return new GatewaySnapshot(config, providers, new KeyRing(), 1);
    }

    private static (Errors.GatewayError? Error, ModelRoute Route, byte[] Body, RequestShape Shape) Resolve(string model, GatewayKey? key = null)
    {
        var body = Encoding.UTF8.GetBytes($"{{\"model\":\"{model}\",\"messages\":[{{}}]}}");
        Assert.Null(RequestInspector.Inspect(body, RequestKind.ChatCompletions, out var shape));
        var error = ModelRouter.Resolve(Snapshot(), body, shape, key ?? AnyModel, out var route);
        return (error, route, body, shape);
    }

    [Fact]
    public void Resolve_ProviderSlashModel_PointsAtTheRestOfTheString()
    {
        var (error, route, body, shape) = Resolve("local/qwen/qwen3-32b");
        Assert.Null(error);
        Assert.Equal("local", route.Provider.Name);
        Assert.Null(route.Target);
        Assert.Equal("qwen/qwen3-32b", Encoding.UTF8.GetString(shape.RawModel(body)[route.ModelOffset..]));
    }

    [Fact]
    public void Resolve_Alias_UsesItsDeployment()
    {
        var (error, route, _, _) = Resolve("fast");
        Assert.Null(error);
        Assert.Equal("llama-3.1-8b", route.Target!.Model);
        Assert.Equal("local", route.Provider.Name);
    }

    [Fact]
    public void Resolve_EscapedModel_IsUnescaped()
    {
        var (error, route, _, _) = Resolve("local\\/m\\u0065\\u002D1");
        Assert.Null(error);
        Assert.Equal("me-1", route.Target!.Model);
    }

    [Theory]
    [InlineData("nosuch/model")]
    [InlineData("no-slash")]
    public void Resolve_Unknown_Is404ModelNotFound(string model)
    {
        var (error, _, _, _) = Resolve(model);
        Assert.Equal((404, "model_not_found"), (error!.Status, error.Code));
    }

    [Theory]
    [InlineData("local/")]
    [InlineData("local/..")]
    [InlineData("local/a/../b")]
    [InlineData("local/./b")]
    [InlineData("local//b")]
    [InlineData("/local/b")]
    [InlineData("local\\/\\u002e\\u002E")]
    [InlineData("local/m\\u0000")]
    [InlineData("local/m\\u007f")]
    [InlineData("local/m\\t")]
    [InlineData("local/m\\ud83d\\ude80")]
    [InlineData("local/m\u00e9")]
    [InlineData("local/a b")]
    public void Resolve_NameAProviderCouldNotSafelyUse_Is400InvalidModel(string model)
    {
        var (error, _, _, _) = Resolve(model);
        Assert.Equal((400, "invalid_model"), (error!.Status, error.Code));
    }

    [Fact]
    public void Resolve_TooLongEvenWhenEscaped_Is400()
    {
        Assert.Equal("invalid_model", Resolve("local/" + new string('a', 600)).Error!.Code);
        Assert.Equal("invalid_model", Resolve("local/" + string.Concat(Enumerable.Repeat("\\u0061", 600))).Error!.Code);
        Assert.Null(Resolve("local/" + string.Concat(Enumerable.Repeat("\\u0061", 400))).Error);
    }

    [Fact]
    public void Resolve_KeyWithoutThatModel_Is403()
    {
        var (error, _, _, _) = Resolve("local/other", new GatewayKey("k", false, ["fast"]));
        Assert.Equal((403, "model_not_allowed"), (error!.Status, error.Code));
        Assert.Null(Resolve("fast", new GatewayKey("k", false, ["fast"])).Error);
    }

    internal sealed class StubProvider(ProviderConfig config) : IProvider
    {
        public string Name => Config.Name;
        public ProviderConfig Config { get; } = config;
        public ValueTask<UpstreamResult> SendAsync(ProviderCall call, CancellationToken cancellationToken) => throw new NotSupportedException();
        public ValueTask<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken) => ValueTask.FromResult<IReadOnlyList<string>>([]);
    }
}
