using Gateway.Core.Config;
using Gateway.Core.Providers;
using Gateway.Providers.Anthropic;
using Gateway.Providers.Azure;
using Gateway.Providers.Bedrock;
using Gateway.Providers.Gemini;
using Gateway.Providers.Http;
using Gateway.Providers.Mock;
using Gateway.Providers.OpenAI;
using Microsoft.Extensions.Logging;

namespace Gateway.Providers;

/// <summary>Builds the provider for a configuration entry; the only place that knows every type.</summary>
public sealed class ProviderFactory(UpstreamHandlerPool handlers, ILoggerFactory loggers, TimeProvider time)
{
    public IProvider Create(ProviderConfig config) => config.Type switch
    {
        ProviderTypes.Mock => new MockProvider(config, time),
        ProviderTypes.OpenAI or ProviderTypes.OpenAICompatible => new OpenAIProvider(
            config, handlers.Get(config, config.BaseUrl ?? OpenAIProvider.DefaultBaseUrl), loggers.CreateLogger("Gateway.Providers.OpenAI")),
        ProviderTypes.Azure => new OpenAIProvider(
            config, handlers.Get(config, config.BaseUrl!), loggers.CreateLogger("Gateway.Providers.Azure"),
            new AzureEndpoints(config.BaseUrl!, config.ApiVersion ?? AzureEndpoints.DefaultApiVersion, config.ApiKey)),
        ProviderTypes.Bedrock => new BedrockProvider(
            config, handlers.Get(config, config.BaseUrl ?? BedrockProvider.DefaultEndpoint(config.Region ?? "us-east-1")), loggers.CreateLogger("Gateway.Providers.Bedrock"), time),
        ProviderTypes.Anthropic => new AnthropicProvider(
            config, handlers.Get(config, config.BaseUrl ?? AnthropicProvider.DefaultBaseUrl), loggers.CreateLogger("Gateway.Providers.Anthropic"), time),
        ProviderTypes.Gemini => new GeminiProvider(
            config, handlers.Get(config, config.BaseUrl ?? GeminiProvider.DefaultBaseUrl), loggers.CreateLogger("Gateway.Providers.Gemini"), time),
        _ => throw new ArgumentException($"unknown provider type '{config.Type}'", nameof(config)),
    };
}
