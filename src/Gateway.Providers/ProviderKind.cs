using Gateway.Core.Config;
using Gateway.Core.Providers;
using Gateway.Providers.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Providers;

/// <summary>A provider type's descriptor with the one thing only the provider library can do: build the provider.</summary>
public abstract class ProviderKind : ProviderDescriptor
{
    public abstract IProvider Create(ProviderConfig config, ProviderServices services);

    /// <summary>The provider's credential is required: there is no keyless use of this type.</summary>
    protected void RequireApiKey(IProviderSettings settings)
    {
        if (!settings.Has("apiKey")) settings.Error("apiKey", $"required for type \"{Type}\" (a literal or \"env:{Type.ToUpperInvariant()}_API_KEY\")");
    }

    /// <summary>The usual discovery: a provider named after the type, when its SDK's key or URL variable is set.</summary>
    protected IEnumerable<ProviderConfig> FromVariables(IProviderEnvironment environment, string keyVariable, string urlVariable) =>
        environment.FromKeyAndUrl(Type, Type, keyVariable, urlVariable) is { } found ? [found] : [];

    /// <summary>The <c>responsesApi</c> setting, for the types that may or may not serve OpenAI's Responses API.</summary>
    protected const string ResponsesApiSetting = "responsesApi";

    protected static ProviderConfig ReadResponsesApi(ProviderConfig config, IProviderSettings settings) =>
        settings.Bool(ResponsesApiSetting) is { } serves ? config with { ResponsesApi = serves } : config;

    /// <summary>There is no default endpoint for this type.</summary>
    protected void RequireBaseUrl(IProviderSettings settings, string example)
    {
        if (!settings.Has("baseUrl")) settings.Error("baseUrl", $"required for type \"{Type}\" ({example})");
    }
}

/// <summary>What building a provider may use: pooled connections, loggers, the clock.</summary>
public sealed record ProviderServices(UpstreamHandlerPool Handlers, ILoggerFactory Loggers, TimeProvider Time);
