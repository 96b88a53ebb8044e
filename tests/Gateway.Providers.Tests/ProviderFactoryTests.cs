using Gateway.Core.Config;
using Gateway.Core.Providers;
using Gateway.Providers;
using Gateway.Providers.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Providers.Tests;

public sealed class ProviderFactoryTests
{
    private static readonly UpstreamHandlerPool Handlers = new();

    [Fact]
    public void EveryBuiltInType_IsBuiltByItsOwnKind()
    {
        var factory = new ProviderFactory(Handlers, NullLoggerFactory.Instance, TimeProvider.System);
        foreach (var kind in BuiltInProviders.Catalog.All)
        {
            var config = new ProviderConfig { Name = "p-" + kind.Type, Type = kind.Type, BaseUrl = "http://127.0.0.1:1/v1", ApiKey = "k", Region = "us-test-1" };
            var provider = factory.Create(config);
            Assert.Equal(config.Name, provider.Name);
        }
    }

    [Fact]
    public void ATypeRegisteredInAnotherCatalog_IsBuiltWithoutTheFactoryKnowingIt()
    {
        var catalog = new ProviderCatalog([new EchoKind()]);
        var provider = new ProviderFactory(Handlers, NullLoggerFactory.Instance, TimeProvider.System, catalog)
            .Create(new ProviderConfig { Name = "e", Type = "echo-test" });
        Assert.Equal("e", provider.Name);
        Assert.Throws<ArgumentException>(() => new ProviderFactory(Handlers, NullLoggerFactory.Instance, TimeProvider.System)
            .Create(new ProviderConfig { Name = "e", Type = "echo-test" }));
    }

    private sealed class EchoKind : ProviderKind
    {
        public override string Type => "echo-test";

        public override IProvider Create(ProviderConfig config, ProviderServices services) => new Gateway.Providers.Mock.MockProvider(config, services.Time);
    }
}
