using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Core.Config;
using Gateway.Core.Governance;
using Gateway.Core.Providers;

namespace Gateway.Server.Governance;

/// <summary>
/// Providers added through the admin API: their entries as the store keeps them (credentials sealed),
/// opened into provider configurations that join the configuration file's at every snapshot build.
/// </summary>
internal sealed class StoredProviders(IGovernanceStore? store, SecretBox? secrets, string? secretsProblem, ProviderCatalog catalog, IReadOnlyDictionary<string, string> environment)
{
    /// <summary>The settings of a provider entry that hold credentials: sealed in the store, never shown.</summary>
    public static readonly string[] SecretSettings = ["apiKey", "accessKeyId", "secretAccessKey", "sessionToken", "headers"];

    public const string Origin = "admin API";

    private volatile IReadOnlyDictionary<string, ProviderConfig> _current = new Dictionary<string, ProviderConfig>();

    public IReadOnlyDictionary<string, ProviderConfig> Current => _current;

    public SecretBox? Secrets => secrets;

    /// <summary>Why credentials cannot be sealed (no or a bad <c>GATEWAY_SECRET_KEY</c>); null when they can.</summary>
    public string? SecretsProblem => secretsProblem;

    /// <summary>Reads every stored provider and opens its credential.</summary>
    /// <exception cref="InvalidOperationException">A stored provider cannot be opened or no longer reads as valid; the message says which and why.</exception>
    public void Load()
    {
        if (store is null) return;
        var providers = new Dictionary<string, ProviderConfig>(StringComparer.Ordinal);
        foreach (var row in store.LoadProviders())
        {
            var (provider, errors) = Open(row);
            if (provider is null) throw new InvalidOperationException($"the provider '{row.Name}' stored through the admin API cannot be used: {string.Join("; ", errors)}");
            providers[row.Name] = provider;
        }
        _current = providers;
    }

    /// <summary>A stored row as a provider configuration: its entry with its credentials opened, read like a file's entry.</summary>
    public (ProviderConfig? Provider, IReadOnlyList<string> Errors) Open(StoredProvider row)
    {
        if (JsonNode.Parse(row.Entry) is not JsonObject entry) return (null, ["its stored entry is not a JSON object"]);
        if (row.Secret is { } sealedSecret)
        {
            if (secrets is null) return (null, [$"its credentials are sealed and {secretsProblem}; start the gateway with the {SecretBox.Variable} they were sealed with"]);
            string opened;
            try
            {
                opened = secrets.Open(sealedSecret, row.Name);
            }
            catch (CryptographicException)
            {
                return (null, [$"its credentials do not open with this {SecretBox.Variable} (another key sealed them, or the row was altered)"]);
            }
            if (JsonNode.Parse(opened) is JsonObject secretValues)
                foreach (var (name, value) in secretValues.ToList())
                {
                    secretValues.Remove(name);
                    entry[name] = value;
                }
        }
        return Read(row.Name, entry);
    }

    public (ProviderConfig? Provider, IReadOnlyList<string> Errors) Read(string name, JsonObject entry)
    {
        using var document = JsonDocument.Parse(entry.ToJsonString());
        return ConfigLoader.ReadProvider(catalog, name, document.RootElement, environment, Origin);
    }

    /// <summary>Replaces the set after an admin change (the caller rebuilds the snapshot).</summary>
    public void Set(string name, ProviderConfig? provider)
    {
        var next = new Dictionary<string, ProviderConfig>(_current, StringComparer.Ordinal);
        if (provider is null) next.Remove(name);
        else next[name] = provider;
        _current = next;
    }

    /// <summary>An entry split into what may be shown (kept as is) and its credentials (to be sealed), as JSON texts.</summary>
    public static (string Entry, string? Secret) Split(JsonObject entry)
    {
        var shown = new JsonObject();
        var hidden = new JsonObject();
        foreach (var (name, value) in entry)
            (SecretSettings.Contains(name) ? hidden : shown)[name] = value?.DeepClone();
        return (shown.ToJsonString(), hidden.Count == 0 ? null : hidden.ToJsonString());
    }
}
