using Gateway.Core.Providers;
using Gateway.Providers.Anthropic;
using Gateway.Providers.Azure;
using Gateway.Providers.Bedrock;
using Gateway.Providers.Gemini;
using Gateway.Providers.Mock;
using Gateway.Providers.OpenAI;

namespace Gateway.Providers;

/// <summary>
/// The provider types this build knows: one line each. Adding a provider is a folder with its
/// <see cref="ProviderKind"/> and a line here; nothing else names it. The order is the order of
/// environment discovery.
/// </summary>
public static class BuiltInProviders
{
    public static ProviderCatalog Catalog { get; } = new(
    [
        new MockKind(),
        new OpenAIKind(),
        new OpenAICompatibleKind(),
        new AnthropicKind(),
        new GeminiKind(),
        new AzureKind(),
        new BedrockKind(),
    ]);
}
