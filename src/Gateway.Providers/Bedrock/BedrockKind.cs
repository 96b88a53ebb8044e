using Gateway.Core.Config;
using Gateway.Core.Providers;
using Microsoft.Extensions.Logging;

namespace Gateway.Providers.Bedrock;

/// <summary>
/// Amazon Bedrock (SigV4-signed Converse): a region and AWS credentials, from its own settings or AWS's
/// standard variables, which also register it; or a Bedrock API key.
/// </summary>
public sealed class BedrockKind : ProviderKind
{
    public const string TypeName = "bedrock";

    public override string Type => TypeName;

    public override IReadOnlyList<string> OwnSettings { get; } = ["region", "accessKeyId", "secretAccessKey", "sessionToken"];

    public override ProviderConfig Read(ProviderConfig config, IProviderSettings settings)
    {
        string? region = settings.Has("region") ? settings.String("region") : settings.Env("AWS_REGION") ?? settings.Env("AWS_DEFAULT_REGION");
        string? keyId = settings.Has("accessKeyId") ? settings.Secret("accessKeyId") : settings.Env("AWS_ACCESS_KEY_ID");
        string? secret = settings.Has("secretAccessKey") ? settings.Secret("secretAccessKey") : settings.Env("AWS_SECRET_ACCESS_KEY");
        string? token = settings.Has("sessionToken") ? settings.Secret("sessionToken") : settings.Env("AWS_SESSION_TOKEN");
        if (string.IsNullOrEmpty(region)) settings.Error("region", "required for type \"bedrock\" (or set AWS_REGION)");
        if (!settings.Has("apiKey") && (string.IsNullOrEmpty(keyId) || string.IsNullOrEmpty(secret)))
            settings.Error(null, "Bedrock needs AWS credentials (accessKeyId and secretAccessKey, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) or a Bedrock API key (apiKey)");
        return config with { Region = region, AccessKeyId = keyId, SecretAccessKey = secret, SessionToken = token };
    }

    public override IEnumerable<ProviderConfig> Discover(IProviderEnvironment environment)
    {
        if (environment.Get("AWS_ACCESS_KEY_ID") is not { } keyId || environment.Get("AWS_SECRET_ACCESS_KEY") is not { } secret
            || (environment.Get("AWS_REGION") ?? environment.Get("AWS_DEFAULT_REGION")) is not { } region)
            return [];
        return [new ProviderConfig
        {
            Name = "bedrock", Type = TypeName, Region = region, AccessKeyId = keyId, SecretAccessKey = secret,
            SessionToken = environment.Get("AWS_SESSION_TOKEN"), Origin = "environment",
        }];
    }

    public override IProvider Create(ProviderConfig config, ProviderServices services) =>
        new BedrockProvider(config, services.Handlers.Get(config, config.BaseUrl ?? BedrockProvider.DefaultEndpoint(config.Region ?? "us-east-1")),
            services.Loggers.CreateLogger("Gateway.Providers.Bedrock"), services.Time);
}
