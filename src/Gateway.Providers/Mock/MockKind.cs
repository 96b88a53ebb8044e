using Gateway.Core.Config;
using Gateway.Core.Providers;

namespace Gateway.Providers.Mock;

/// <summary>The built-in mock: always there, answers with no key and no network.</summary>
public sealed class MockKind : ProviderKind
{
    public const string TypeName = "mock";

    public override string Type => TypeName;

    public override bool IsBuiltIn => true;

    public override IReadOnlyList<string> OwnSettings { get; } = ["chunks", "chunkDelayMs"];

    public override ProviderConfig Read(ProviderConfig config, IProviderSettings settings)
    {
        if (settings.Long("chunks", 1, 10_000) is { } chunks) config = config with { Chunks = (int)chunks };
        if (settings.Long("chunkDelayMs", 0, 600_000) is { } delay) config = config with { ChunkDelay = TimeSpan.FromMilliseconds(delay) };
        return config;
    }

    public override IProvider Create(ProviderConfig config, ProviderServices services) => new MockProvider(config, services.Time);
}
