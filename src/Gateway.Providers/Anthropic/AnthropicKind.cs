using Gateway.Core.Config;
using Gateway.Core.Providers;
using Microsoft.Extensions.Logging;

namespace Gateway.Providers.Anthropic;

/// <summary>Anthropic's Messages API: a key is required; <c>ANTHROPIC_API_KEY</c> / <c>ANTHROPIC_BASE_URL</c> register it.</summary>
public sealed class AnthropicKind : ProviderKind
{
    public const string TypeName = "anthropic";

    public override string Type => TypeName;

    public override ProviderConfig Read(ProviderConfig config, IProviderSettings settings)
    {
        RequireApiKey(settings);
        return config;
    }

    public override IEnumerable<ProviderConfig> Discover(IProviderEnvironment environment) =>
        FromVariables(environment, "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL");

    public override IProvider Create(ProviderConfig config, ProviderServices services) =>
        new AnthropicProvider(config, services.Handlers.Get(config, config.BaseUrl ?? AnthropicProvider.DefaultBaseUrl),
            services.Loggers.CreateLogger("Gateway.Providers.Anthropic"), services.Time);
}
