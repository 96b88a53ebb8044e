using System.Collections.Frozen;

namespace Gateway.Core.Providers;

/// <summary>Every provider type the gateway knows, in registration order (which is also the order of environment discovery).</summary>
public sealed class ProviderCatalog
{
    private readonly FrozenDictionary<string, ProviderDescriptor> _byType;

    public ProviderCatalog(IEnumerable<ProviderDescriptor> descriptors)
    {
        All = [.. descriptors];
        _byType = All.ToFrozenDictionary(d => d.Type, StringComparer.Ordinal);
        Types = [.. All.Select(d => d.Type)];
        OwnSettings = All.SelectMany(d => d.OwnSettings).Distinct(StringComparer.Ordinal).ToArray();
    }

    public IReadOnlyList<ProviderDescriptor> All { get; }

    public IReadOnlyList<string> Types { get; }

    /// <summary>Every type's own settings: all of them are known names in a provider entry.</summary>
    public IReadOnlyList<string> OwnSettings { get; }

    public ProviderDescriptor? Find(string type) => _byType.GetValueOrDefault(type);

    /// <summary>The types that have <paramref name="setting"/> as their own.</summary>
    public IEnumerable<string> OwnersOf(string setting) => All.Where(d => d.OwnSettings.Contains(setting)).Select(d => d.Type);
}
