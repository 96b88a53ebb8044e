using Gateway.Core.Config;
using Gateway.Core.Providers;
using Gateway.Providers.OpenAI;
using Microsoft.Extensions.Logging;

namespace Gateway.Providers.Azure;

/// <summary>
/// Azure OpenAI: the resource endpoint and a key are required, <c>apiVersion</c> is its own setting.
/// The Azure OpenAI SDK's variables register it: the endpoint is required, so the key alone registers nothing.
/// </summary>
public sealed class AzureKind : ProviderKind
{
    public const string TypeName = "azure";

    public override string Type => TypeName;

    public override IReadOnlyList<string> OwnSettings { get; } = ["apiVersion", ResponsesApiSetting];

    public override ProviderConfig Read(ProviderConfig config, IProviderSettings settings)
    {
        RequireBaseUrl(settings, "the resource endpoint, e.g. \"https://my-resource.openai.azure.com\"");
        RequireApiKey(settings);
        config = ReadResponsesApi(config, settings);
        return settings.String("apiVersion") is { Length: > 0 } version ? config with { ApiVersion = version } : config;
    }

    public override IEnumerable<ProviderConfig> Discover(IProviderEnvironment environment)
    {
        if (environment.Get("AZURE_OPENAI_ENDPOINT") is null) return [];
        if (environment.FromKeyAndUrl("azure", TypeName, "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT") is not { } found) return [];
        return [environment.Get("OPENAI_API_VERSION") is { } version ? found with { ApiVersion = version } : found];
    }

    public override IProvider Create(ProviderConfig config, ProviderServices services) =>
        new OpenAIProvider(config, services.Handlers.Get(config, config.BaseUrl!), services.Loggers.CreateLogger("Gateway.Providers.Azure"),
            new AzureEndpoints(config.BaseUrl!, config.ApiVersion ?? AzureEndpoints.DefaultApiVersion, config.ApiKey, responses: config.ResponsesApi ?? true));
}
