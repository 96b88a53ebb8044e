using System.Collections.Frozen;
using System.Text.Json;

namespace Gateway.Core.Pricing;

/// <summary>
/// Prices by where a call went. The configuration's <c>pricing</c> wins (keyed <c>provider/model</c> by the
/// provider's name in the configuration, or by an alias); then the built-in list prices, keyed by the
/// provider's type and the model id. Lookups allocate nothing.
/// </summary>
public sealed class PriceTable
{
    private readonly FrozenDictionary<string, FrozenDictionary<string, ModelPrice>> _configured;
    private readonly FrozenDictionary<string, ModelPrice> _aliases;

    public PriceTable(IReadOnlyDictionary<string, ModelPrice> configured)
    {
        var byProvider = new Dictionary<string, Dictionary<string, ModelPrice>>(StringComparer.Ordinal);
        var aliases = new Dictionary<string, ModelPrice>(StringComparer.Ordinal);
        foreach (var (name, price) in configured)
        {
            int slash = name.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0) aliases[name] = price;
            else (byProvider.TryGetValue(name[..slash], out var models) ? models : byProvider[name[..slash]] = new(StringComparer.Ordinal))[name[(slash + 1)..]] = price;
        }
        _configured = byProvider.ToFrozenDictionary(kv => kv.Key, kv => kv.Value.ToFrozenDictionary(StringComparer.Ordinal), StringComparer.Ordinal);
        _aliases = aliases.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>The built-in list prices only.</summary>
    public static PriceTable BuiltInOnly { get; } = new(new Dictionary<string, ModelPrice>());

    /// <param name="provider">The provider's name in the configuration.</param>
    /// <param name="providerType">Its type (the built-in list is keyed by type).</param>
    /// <param name="model">The model id the provider was asked for.</param>
    /// <param name="alias">The alias or group the client named, when it named one.</param>
    public ModelPrice? Find(string provider, string providerType, string model, string? alias)
    {
        if (_configured.TryGetValue(provider, out var models) && models.TryGetValue(model, out var price)) return price;
        if (alias is not null && _aliases.TryGetValue(alias, out price)) return price;
        return BuiltIn.TryGetValue(providerType, out models) && models.TryGetValue(model, out price) ? price : null;
    }

    /// <summary>The list prices compiled in (prices.json), by provider type and model id.</summary>
    public static FrozenDictionary<string, FrozenDictionary<string, ModelPrice>> BuiltIn { get; } = LoadBuiltIn();

    private static FrozenDictionary<string, FrozenDictionary<string, ModelPrice>> LoadBuiltIn()
    {
        using var stream = typeof(PriceTable).Assembly.GetManifestResourceStream("Gateway.Core.Pricing.prices.json")
            ?? throw new InvalidOperationException("the built-in price list is missing from the build");
        using var document = JsonDocument.Parse(stream);
        var types = new Dictionary<string, FrozenDictionary<string, ModelPrice>>(StringComparer.Ordinal);
        foreach (var type in document.RootElement.EnumerateObject())
        {
            if (type.Value.ValueKind != JsonValueKind.Object) continue; // the "//" note
            var models = new Dictionary<string, ModelPrice>(StringComparer.Ordinal);
            foreach (var model in type.Value.EnumerateObject()) models[model.Name] = Read(model.Value);
            types[type.Name] = models.ToFrozenDictionary(StringComparer.Ordinal);
        }
        return types.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static ModelPrice Read(JsonElement price) => new(
        price.GetProperty("input").GetDecimal(), price.GetProperty("output").GetDecimal(),
        price.TryGetProperty("cachedInput", out var cached) ? cached.GetDecimal() : null,
        price.TryGetProperty("cacheWrite", out var write) ? write.GetDecimal() : null);
}
