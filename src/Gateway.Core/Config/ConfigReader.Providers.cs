using System.Text.Json;
using Gateway.Core.Providers;

namespace Gateway.Core.Config;

internal sealed partial class ConfigReader
{
    /// <summary>What every provider entry may say, whatever its type; a type's own settings come from its descriptor.</summary>
    private static readonly string[] CommonProviderSettings =
        ["type", "baseUrl", "apiKey", "headers", "models", "connectTimeoutMs", "firstByteTimeoutMs", "idleTimeoutMs", "timeoutMs"];

    /// <summary>One provider entry, as its descriptor reads its own settings: errors land in the reader's list.</summary>
    private sealed class EntrySettings(ConfigReader reader, JsonElement entry, string path) : IProviderSettings
    {
        public string Path => path;

        public bool Has(string name) => TryGet(entry, name, out _);

        public string? String(string name) => TryGet(entry, name, out var value) ? reader.String(value, $"{path}.{name}") : null;

        public string? Secret(string name) => String(name) is { } value ? reader.ResolveSecret(value, $"{path}.{name}") : null;

        public long? Long(string name, long min, long max) => TryGet(entry, name, out var value) ? reader.Long(value, $"{path}.{name}", min, max) : null;

        public bool? Bool(string name) => TryGet(entry, name, out var value) ? reader.Bool(value, $"{path}.{name}") : null;

        public string? Env(string variable) => reader.Env(variable);

        public void Error(string? name, string message) => reader._errors.Add(name is null ? $"{path}: {message}" : $"{path}.{name}: {message}");
    }

    /// <summary>The environment as descriptors look for their providers in it; what the file declares wins.</summary>
    private sealed class EnvironmentView(ConfigReader reader, Dictionary<string, ProviderConfig> declared) : IProviderEnvironment
    {
        public string? Get(string variable) => reader.Env(variable);

        public ProviderConfig? FromKeyAndUrl(string name, string type, string keyVariable, string urlVariable)
        {
            string? key = reader.Env(keyVariable), baseUrl = reader.Env(urlVariable);
            if (declared.ContainsKey(name) || (key is null && baseUrl is null)) return null;
            if (baseUrl is not null) reader.CheckUrl(baseUrl, $"environment {urlVariable}", allowWildcardHost: false);
            if (key is not null && HeaderValues.Problem(key) is { } problem) reader._errors.Add($"environment {keyVariable}: {problem} (the value is not shown)");
            return new ProviderConfig { Name = name, Type = type, ApiKey = key, BaseUrl = baseUrl, Origin = "environment" };
        }
    }

    /// <summary>One provider entry read on its own, with the errors it has.</summary>
    public (ProviderConfig? Provider, IReadOnlyList<string> Errors) ReadProviderEntry(string name, JsonElement entry)
    {
        if (!IsValidName(name)) return (null, [$"{name}: a provider name may use letters, digits, '-', '_' and '.' only"]);
        var provider = ReadProvider(name, entry, name);
        return _errors.Count > 0 ? (null, _errors) : (provider, []);
    }
}
