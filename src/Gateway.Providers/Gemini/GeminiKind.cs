using Gateway.Core.Config;
using Gateway.Core.Providers;
using Microsoft.Extensions.Logging;

namespace Gateway.Providers.Gemini;

/// <summary>Google's Gemini API: a key is required; <c>GEMINI_API_KEY</c> / <c>GEMINI_BASE_URL</c> register it.</summary>
public sealed class GeminiKind : ProviderKind
{
    public const string TypeName = "gemini";

    public override string Type => TypeName;

    public override ProviderConfig Read(ProviderConfig config, IProviderSettings settings)
    {
        RequireApiKey(settings);
        return config;
    }

    public override IEnumerable<ProviderConfig> Discover(IProviderEnvironment environment) =>
        FromVariables(environment, "GEMINI_API_KEY", "GEMINI_BASE_URL");

    public override IProvider Create(ProviderConfig config, ProviderServices services) =>
        new GeminiProvider(config, services.Handlers.Get(config, config.BaseUrl ?? GeminiProvider.DefaultBaseUrl),
            services.Loggers.CreateLogger("Gateway.Providers.Gemini"), services.Time);
}
