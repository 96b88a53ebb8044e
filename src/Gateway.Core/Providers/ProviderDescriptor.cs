using Gateway.Core.Config;

namespace Gateway.Core.Providers;

/// <summary>
/// What a provider type tells the gateway about itself, so that nothing outside its folder has to know
/// it: its type name, the settings only it has and how they are read and checked, how it is found in the
/// environment, and (in the provider library) how it is built. Registered once in the provider catalog.
/// </summary>
public abstract class ProviderDescriptor
{
    /// <summary>The <c>type</c> a provider entry names it by.</summary>
    public abstract string Type { get; }

    /// <summary>Settings beyond the common ones (<c>baseUrl</c>, <c>apiKey</c>, <c>headers</c>, <c>models</c>, the timeouts) that only this type reads.</summary>
    public virtual IReadOnlyList<string> OwnSettings => [];

    /// <summary>Always there under its type name, whatever the file says (the built-in mock); a file may tune it.</summary>
    public virtual bool IsBuiltIn => false;

    /// <summary>
    /// Reads this type's own settings into <paramref name="config"/> (the common ones already read) and
    /// checks what the type requires, reporting problems through <paramref name="settings"/>.
    /// </summary>
    public virtual ProviderConfig Read(ProviderConfig config, IProviderSettings settings) => config;

    /// <summary>
    /// The providers of this type the environment declares (the variable names of the type's official
    /// SDK); none when its variables are not set. A file's entry of the same name wins.
    /// </summary>
    public virtual IEnumerable<ProviderConfig> Discover(IProviderEnvironment environment) => [];
}

/// <summary>One provider entry of the configuration, as a descriptor reads its own settings.</summary>
public interface IProviderSettings
{
    /// <summary>Where the entry is, for messages: <c>providers.NAME</c>.</summary>
    string Path { get; }

    bool Has(string name);

    /// <summary>The setting as a string (a wrong kind of value is reported); null when absent.</summary>
    string? String(string name);

    /// <summary>A string setting with <c>env:NAME</c> resolved; a secret, never shown in messages.</summary>
    string? Secret(string name);

    long? Long(string name, long min, long max);

    /// <summary>A true/false setting (a wrong kind of value is reported); null when absent.</summary>
    bool? Bool(string name);

    /// <summary>An environment variable, null when unset or empty.</summary>
    string? Env(string variable);

    /// <summary>Reports a problem with one setting (<paramref name="name"/>) or, when null, the whole entry.</summary>
    void Error(string? name, string message);
}

/// <summary>The environment, as a descriptor looks for its providers there.</summary>
public interface IProviderEnvironment
{
    /// <summary>An environment variable, null when unset or empty.</summary>
    string? Get(string variable);

    /// <summary>
    /// The usual discovery: a provider named <paramref name="name"/> when the key or the URL variable is
    /// set (the URL checked, the key checked as a header value); null when neither is, or when the file
    /// declares a provider of that name.
    /// </summary>
    ProviderConfig? FromKeyAndUrl(string name, string type, string keyVariable, string urlVariable);
}
