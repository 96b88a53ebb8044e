namespace Gateway.Core.Config;

public static class ProviderTypes
{
    public const string Mock = "mock";
    public const string OpenAI = "openai";
    public const string OpenAICompatible = "openai-compatible";
    public const string Anthropic = "anthropic";
    public const string Gemini = "gemini";
    public const string Azure = "azure";
    public const string Bedrock = "bedrock";

    public static readonly IReadOnlyList<string> All = [Mock, OpenAI, OpenAICompatible, Anthropic, Gemini, Azure, Bedrock];
}
