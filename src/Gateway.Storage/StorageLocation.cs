namespace Gateway.Storage;

/// <summary>
/// Where the store lives, from <c>storage.database</c>: <c>sqlite:PATH</c> (a relative path starts where
/// the gateway was started); unset, <c>gateway.db</c> in the data folder; <c>none</c>, nowhere.
/// </summary>
public sealed record StorageLocation(string SqlitePath)
{
    public const string SqliteScheme = "sqlite:";

    /// <summary><c>storage.database: "none"</c>: a gateway without a store (no usage or request logs); nothing is written to disk.</summary>
    public const string None = "none";

    /// <returns>The location (null for <see cref="None"/>), or the reason the setting is not one the gateway can use.</returns>
    public static (StorageLocation? Location, string? Error) Parse(string? database, string dataDir)
    {
        if (string.Equals(database, None, StringComparison.OrdinalIgnoreCase)) return (null, null);
        if (string.IsNullOrWhiteSpace(database)) return (new StorageLocation(Path.GetFullPath(Path.Combine(dataDir, "gateway.db"))), null);
        if (!database.StartsWith(SqliteScheme, StringComparison.OrdinalIgnoreCase))
            return (null, $"storage.database: '{Redact(database)}' is not supported by this version; use \"sqlite:PATH\" (PostgreSQL comes with scale-out)");
        string path = database[SqliteScheme.Length..];
        if (path.Length == 0) return (null, "storage.database: \"sqlite:\" needs a file path, e.g. \"sqlite:./data/gateway.db\"");
        return (new StorageLocation(Path.GetFullPath(path)), null);
    }

    // A connection string may carry a password: only its scheme is shown.
    private static string Redact(string database) => database.IndexOf(':') is > 0 and var colon ? database[..colon] + ":..." : "...";
}
