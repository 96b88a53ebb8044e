using Gateway.Core.Providers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gateway.Core.Config;

/// <summary>
/// Reads gateway.json (JSON with comments and trailing commas), applies <c>GATEWAY__a__b=value</c>
/// environment overrides, and validates the result into a <see cref="GatewayConfig"/>.
/// </summary>
public static class ConfigLoader
{
    public const string OverridePrefix = "GATEWAY__";

    /// <summary>
    /// What is wrong at the reader's position, in the gateway's own words: the runtime's messages are
    /// trimmed from the native binary (it would print "ExpectedStartOfPropertyNotFound").
    /// </summary>
    internal static string SyntaxProblem(string text, long line, long column)
    {
        var lines = text.Split('\n');
        const string early = "the text ends too early (an unclosed brace, bracket or string?)";
        if (line >= lines.Length) return early;
        string row = lines[line].TrimEnd('\r');
        if (line == lines.Length - 1 && column >= row.Length) return early;
        int at = (int)Math.Min(column, row.Length);
        // The position counts bytes; on a line with non-ASCII text it can run ahead of the characters.
        while (at > 0 && System.Text.Encoding.UTF8.GetByteCount(row.AsSpan(0, at)) > column) at--;
        if (at >= row.Length) return "unexpected end of line (a missing comma, quote or bracket?)";
        char c = row[at];
        return c switch
        {
            '"' => "unexpected '\"' (a missing comma or colon before it?)",
            ',' => "unexpected ',' (a value or property name was expected)",
            '}' or ']' => $"unexpected '{c}' (a value was expected, or the brackets do not match)",
            _ when char.IsControl(c) => $"unexpected control character U+{(int)c:X4}",
            _ => $"unexpected '{c}'",
        };
    }

    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        MaxDepth = 64,
    };

    /// <summary>Loads from a file (or from nothing: defaults plus environment).</summary>
    /// <param name="offline">Validate without the secrets (<c>gateway config check --offline</c>): unset <c>env:</c> references are not errors.</param>
    /// <param name="catalog">The provider types the configuration may name.</param>
    public static ConfigLoadResult LoadFile(ProviderCatalog catalog, string? path, IReadOnlyDictionary<string, string> environment, bool offline = false)
    {
        if (path is null) return LoadText(catalog, null, "(no config file)", environment, offline: offline);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new ConfigLoadResult(null, [$"{path}: cannot read the file: {ex.Message}"], []);
        }
        return LoadText(catalog, text, path, environment, Path.GetDirectoryName(Path.GetFullPath(path)), offline);
    }

    /// <param name="baseDirectory">Where relative paths in the config (policy files) start; the working directory when null.</param>
    /// <param name="offline">Unset <c>env:</c> references are not errors (see <see cref="LoadFile"/>).</param>
    public static ConfigLoadResult LoadText(ProviderCatalog catalog, string? text, string sourceName, IReadOnlyDictionary<string, string> environment, string? baseDirectory = null,
        bool offline = false)
    {
        JsonNode root;
        if (string.IsNullOrWhiteSpace(text))
        {
            root = new JsonObject();
        }
        else
        {
            try
            {
                root = JsonNode.Parse(text, documentOptions: DocumentOptions) ?? new JsonObject();
            }
            catch (JsonException ex)
            {
                long line = ex.LineNumber ?? 0, column = ex.BytePositionInLine ?? 0;
                return new ConfigLoadResult(null, [$"{sourceName}:{line + 1}:{column + 1}: not valid JSON: {SyntaxProblem(text, line, column)}"], []);
            }
        }
        if (root is not JsonObject rootObject)
            return new ConfigLoadResult(null, [$"{sourceName}: the top level must be a JSON object"], []);

        var errors = new List<string>();
        ApplyOverrides(rootObject, environment, errors);
        if (errors.Count > 0) return new ConfigLoadResult(null, errors, []);

        using var document = JsonDocument.Parse(rootObject.ToJsonString());
        return new ConfigReader(environment, baseDirectory ?? Directory.GetCurrentDirectory(), catalog, offline).Read(document.RootElement);
    }

    /// <summary><c>GATEWAY__server__maxBodyBytes=1024</c> sets <c>server.maxBodyBytes</c>; names match case-insensitively.</summary>
    private static void ApplyOverrides(JsonObject root, IReadOnlyDictionary<string, string> environment, List<string> errors)
    {
        foreach (var (name, value) in environment.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (!name.StartsWith(OverridePrefix, StringComparison.OrdinalIgnoreCase)) continue;
            var segments = name[OverridePrefix.Length..].Split("__");
            if (segments.Any(string.IsNullOrEmpty))
            {
                errors.Add($"environment {name}: empty path segment");
                continue;
            }
            JsonNode current = root;
            for (int i = 0; i < segments.Length; i++)
            {
                bool last = i == segments.Length - 1;
                string segment = segments[i];
                if (current is JsonObject obj)
                {
                    string key = obj.Select(p => p.Key).FirstOrDefault(k => string.Equals(k, segment, StringComparison.OrdinalIgnoreCase)) ?? segment;
                    if (last)
                    {
                        obj[key] = JsonValue.Create(value);
                    }
                    else
                    {
                        var child = obj[key];
                        if (child is null)
                        {
                            child = int.TryParse(segments[i + 1], out _) ? new JsonArray() : new JsonObject();
                            obj[key] = child;
                        }
                        current = child;
                    }
                }
                else if (current is JsonArray array && int.TryParse(segment, out int index) && index >= 0 && index <= array.Count)
                {
                    if (index == array.Count) array.Add(last ? JsonValue.Create(value) : new JsonObject());
                    else if (last) array[index] = JsonValue.Create(value);
                    current = array[index]!;
                }
                else
                {
                    errors.Add($"environment {name}: '{string.Join('.', segments[..i])}' is not an object or array that '{segment}' can go into");
                    break;
                }
            }
        }
    }


    /// <summary>
    /// One provider entry on its own (a provider stored through the admin API): read and checked exactly as
    /// it would be under <c>providers</c> in the file.
    /// </summary>
    public static (ProviderConfig? Provider, IReadOnlyList<string> Errors) ReadProvider(ProviderCatalog catalog, string name, JsonElement entry,
        IReadOnlyDictionary<string, string> environment, string origin)
    {
        var (provider, errors) = new ConfigReader(environment, Directory.GetCurrentDirectory(), catalog).ReadProviderEntry(name, entry);
        return (provider is null ? null : provider with { Origin = origin }, errors);
    }
}
