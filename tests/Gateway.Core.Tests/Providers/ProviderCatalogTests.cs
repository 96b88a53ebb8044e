using Gateway.Core.Config;
using Gateway.Core.Providers;

namespace Gateway.Core.Tests.Providers;

/// <summary>A provider type described once is read, checked and discovered by the configuration without the configuration knowing it.</summary>
public class ProviderCatalogTests
{
    /// <summary>A type that exists only in this test: its own setting, a requirement, environment discovery.</summary>
    private sealed class ZoneKind : ProviderDescriptor
    {
        public override string Type => "zoned";

        public override IReadOnlyList<string> OwnSettings { get; } = ["zone"];

        public override ProviderConfig Read(ProviderConfig config, IProviderSettings settings)
        {
            if (settings.String("zone") is not { } zone) settings.Error("zone", "required for type \"zoned\"");
            else config = config with { Region = zone };
            return config;
        }

        public override IEnumerable<ProviderConfig> Discover(IProviderEnvironment environment) =>
            environment.FromKeyAndUrl("zoned", Type, "ZONED_KEY", "ZONED_URL") is { } found ? [found with { Region = "env-zone" }] : [];
    }

    private static readonly ProviderCatalog Catalog = new([.. Gateway.Providers.BuiltInProviders.Catalog.All, new ZoneKind()]);

    private static ConfigLoadResult Load(string json, Dictionary<string, string>? env = null) =>
        ConfigLoader.LoadText(Catalog, json, "gw.json", env ?? new Dictionary<string, string>());

    [Fact]
    public void ANewType_IsReadWithItsOwnSetting()
    {
        var result = Load("""{ "providers": { "z": { "type": "zoned", "baseUrl": "http://127.0.0.1:1/v1", "zone": "north" } } }""");
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Equal(("zoned", "north"), (result.Config!.Providers["z"].Type, result.Config.Providers["z"].Region));
    }

    [Fact]
    public void ANewType_ChecksItsRequirements_AndItsSettingIsRefusedOnOtherTypes()
    {
        var result = Load("""{ "providers": { "z": { "type": "zoned" }, "o": { "type": "openai-compatible", "baseUrl": "http://127.0.0.1:1/v1", "zone": "x" } } }""");
        Assert.Contains("providers.z.zone: required for type \"zoned\"", result.Errors);
        Assert.Contains("providers.o.zone: only providers of type \"zoned\" have this setting", result.Errors);
    }

    [Fact]
    public void ANewType_IsFoundInTheEnvironment_UnlessTheFileDeclaresTheName()
    {
        var env = new Dictionary<string, string> { ["ZONED_KEY"] = "zk" };
        var found = Load("{}", env).Config!.Providers["zoned"];
        Assert.Equal(("zoned", "zk", "env-zone", "environment"), (found.Type, found.ApiKey, found.Region, found.Origin));
        var declared = Load("""{ "providers": { "zoned": { "type": "mock" } } }""", env);
        Assert.Equal("mock", declared.Config!.Providers["zoned"].Type);
    }

    [Fact]
    public void WithoutTheType_TheConfigurationRejectsIt()
    {
        var result = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, """{ "providers": { "z": { "type": "zoned" } } }""", "gw.json", new Dictionary<string, string>());
        Assert.Contains(result.Errors, e => e.StartsWith("providers.z.type: unknown provider type 'zoned'", StringComparison.Ordinal));
        Assert.DoesNotContain(result.Errors, e => e.StartsWith("providers.z.zone", StringComparison.Ordinal));
    }
}
