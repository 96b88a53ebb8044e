using System.Text.Json;

namespace Gateway.Core.Config;

internal sealed partial class ConfigReader
{
    private CacheConfig ReadCache(JsonElement root, Dictionary<string, ProviderConfig> providers, Dictionary<string, ModelGroupConfig> models)
    {
        var cache = new CacheConfig();
        if (!TryGet(root, "cache", out var c) || !Expect(c, JsonValueKind.Object, "cache")) return cache;
        CheckProperties(c, "cache", ["store", "maxBytes", "ttlSeconds", "maxEntryBytes", "models", "localEmbedder", "semanticMaxVectors"]);
        if (TryGet(c, "store", out var s) && String(s, "cache.store") is { } store)
        {
            if (store is CacheConfig.MemoryStore or CacheConfig.SqliteStore or CacheConfig.DatabaseStore or CacheConfig.RedisStore) cache = cache with { Store = store };
            else _errors.Add($"cache.store: \"{CacheConfig.MemoryStore}\", \"{CacheConfig.DatabaseStore}\", \"{CacheConfig.SqliteStore}\" or \"{CacheConfig.RedisStore}\", not \"{store}\"");
        }
        if (TryGet(c, "maxBytes", out var mb) && Long(mb, "cache.maxBytes", 1024 * 1024, 1L << 40) is { } maxBytes)
            cache = cache with { MaxBytes = maxBytes };
        if (TryGet(c, "localEmbedder", out var le) && String(le, "cache.localEmbedder") is { Length: > 0 } local)
            cache = cache with { LocalEmbedder = Path.IsPathRooted(local) ? local : Path.GetFullPath(Path.Combine(baseDirectory, local)) };
        if (TryGet(c, "semanticMaxVectors", out var sv) && Long(sv, "cache.semanticMaxVectors", 100, 10_000_000) is { } vectors)
            cache = cache with { SemanticMaxVectors = (int)vectors };
        // The section's ttlSeconds and maxEntryBytes are the defaults of each model's entry.
        var defaults = ReadCacheModel(c, "cache", new CacheModelConfig(), allowSemantic: false);
        var entries = new Dictionary<string, CacheModelConfig>(StringComparer.Ordinal);
        if (TryGet(c, "models", out var m) && Expect(m, JsonValueKind.Object, "cache.models"))
        {
            foreach (var entry in m.EnumerateObject())
            {
                string path = $"cache.models.{entry.Name}";
                if (entry.Name != "*" && !NamesServedModel(entry.Name, providers, models))
                {
                    _errors.Add($"{path}: name an alias from models, a configured provider's model (\"provider/model\") or \"*\" for every model");
                    continue;
                }
                if (!Expect(entry.Value, JsonValueKind.Object, path)) continue;
                CheckProperties(entry.Value, path, ["ttlSeconds", "maxEntryBytes", "semantic"]);
                entries[entry.Name] = ReadCacheModel(entry.Value, path, defaults, allowSemantic: true, providers, models);
            }
        }
        return cache with { Models = entries };
    }

    private CacheModelConfig ReadCacheModel(JsonElement item, string path, CacheModelConfig defaults, bool allowSemantic,
        Dictionary<string, ProviderConfig>? providers = null, Dictionary<string, ModelGroupConfig>? models = null)
    {
        var config = defaults;
        if (TryGet(item, "ttlSeconds", out var t) && Long(t, $"{path}.ttlSeconds", 1, 366L * 86_400) is { } ttl)
            config = config with { Ttl = TimeSpan.FromSeconds(ttl) };
        if (TryGet(item, "maxEntryBytes", out var e) && Long(e, $"{path}.maxEntryBytes", 1024, 64 * 1024 * 1024) is { } max)
            config = config with { MaxEntryBytes = (int)max };
        if (!allowSemantic || !TryGet(item, "semantic", out var s) || !Expect(s, JsonValueKind.Object, $"{path}.semantic")) return config;
        CheckProperties(s, $"{path}.semantic", ["threshold", "embedder"]);
        var semantic = new SemanticCacheConfig();
        if (TryGet(s, "threshold", out var th))
        {
            if (th.ValueKind == JsonValueKind.Number && th.TryGetDouble(out double threshold) && threshold is > 0 and <= 1) semantic = semantic with { Threshold = threshold };
            else _errors.Add($"{path}.semantic.threshold: a cosine similarity above 0 and at most 1 (0.95 is a usual start)");
        }
        if (TryGet(s, "embedder", out var em) && String(em, $"{path}.semantic.embedder") is { } embedder)
        {
            if (embedder == SemanticCacheConfig.LocalEmbedder || NamesServedModel(embedder, providers!, models!)) semantic = semantic with { Embedder = embedder };
            else _errors.Add($"{path}.semantic.embedder: \"{SemanticCacheConfig.LocalEmbedder}\", or an embeddings model the gateway serves (an alias or \"provider/model\")");
        }
        return config with { Semantic = semantic };
    }

    /// <summary>An alias from <c>models</c>, or <c>provider/model</c> of a configured provider.</summary>
    private static bool NamesServedModel(string name, Dictionary<string, ProviderConfig> providers, Dictionary<string, ModelGroupConfig> models)
    {
        int slash = name.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 ? slash < name.Length - 1 && providers.ContainsKey(name[..slash]) : models.ContainsKey(name);
    }
}
