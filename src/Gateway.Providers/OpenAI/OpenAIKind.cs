using Gateway.Core.Config;
using Gateway.Core.Providers;
using Microsoft.Extensions.Logging;

namespace Gateway.Providers.OpenAI;

/// <summary>OpenAI itself: a key is required; <c>OPENAI_API_KEY</c> / <c>OPENAI_BASE_URL</c> register it.</summary>
public sealed class OpenAIKind : ProviderKind
{
    public const string TypeName = "openai";

    public override string Type => TypeName;

    public override ProviderConfig Read(ProviderConfig config, IProviderSettings settings)
    {
        RequireApiKey(settings);
        return config;
    }

    public override IEnumerable<ProviderConfig> Discover(IProviderEnvironment environment) =>
        FromVariables(environment, "OPENAI_API_KEY", "OPENAI_BASE_URL");

    public override IProvider Create(ProviderConfig config, ProviderServices services) =>
        new OpenAIProvider(config, services.Handlers.Get(config, config.BaseUrl ?? OpenAIProvider.DefaultBaseUrl), services.Loggers.CreateLogger("Gateway.Providers.OpenAI"));
}

/// <summary>Any server that speaks OpenAI's API (vLLM, Ollama, LM Studio...): its URL is required, a key optional.</summary>
public sealed class OpenAICompatibleKind : ProviderKind
{
    public const string TypeName = "openai-compatible";

    public override string Type => TypeName;

    /// <summary><c>responsesApi: true</c> says the server has <c>/responses</c> too (vLLM and Ollama do), so it gets those requests untouched.</summary>
    public override IReadOnlyList<string> OwnSettings { get; } = [ResponsesApiSetting];

    public override ProviderConfig Read(ProviderConfig config, IProviderSettings settings)
    {
        RequireBaseUrl(settings, "e.g. \"http://127.0.0.1:11434/v1\"");
        return ReadResponsesApi(config, settings);
    }

    public override IProvider Create(ProviderConfig config, ProviderServices services) =>
        new OpenAIProvider(config, services.Handlers.Get(config, config.BaseUrl ?? OpenAIProvider.DefaultBaseUrl), services.Loggers.CreateLogger("Gateway.Providers.OpenAI"));
}
