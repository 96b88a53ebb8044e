using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Core.Governance;
using Gateway.Server.Admin;
using Gateway.Storage;

namespace Gateway.Server.Cli;

/// <summary>
/// <c>gateway keys create|list|revoke</c>: stored keys, offline, against the same store a running gateway
/// uses (it sees the change within a second). Each change is audited with the actor <c>cli</c>.
/// </summary>
internal static class KeysCommand
{
    public const string Actor = "cli";

    public static int Run(string verb, string[] args, IReadOnlyDictionary<string, string> env, TextWriter stdout, TextWriter stderr)
    {
        string? config = null;
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        var flags = new HashSet<string>(StringComparer.Ordinal);
        var positional = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (DatabaseCommand.TakeConfig(args, ref i, ref config)) continue;
            string arg = args[i];
            if (arg is "--admin" or "--all" or "--json") flags.Add(arg[2..]);
            else if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                string name = arg[2..], value;
                int eq = name.IndexOf('=', StringComparison.Ordinal);
                if (eq >= 0) (name, value) = (name[..eq], name[(eq + 1)..]);
                else if (i + 1 < args.Length) value = args[++i];
                else
                {
                    stderr.WriteLine($"keys {verb}: {arg} needs a value");
                    return 2;
                }
                options[name] = value;
            }
            else positional.Add(arg);
        }
        var (location, exit) = DatabaseCommand.Locate(config, env, stdout, stderr);
        if (location is null) return exit == 0 ? 1 : exit;
        try
        {
            var store = DatabaseCommand.OpenCurrent(location);
            return verb switch
            {
                "create" => Create(store, options, flags, positional, stdout, stderr),
                "list" => List(store, flags, positional, stdout, stderr),
                _ => Revoke(store, positional, stdout, stderr),
            };
        }
        catch (Exception ex) when (GatewayStore.IsStoreFailure(ex) || ex is GovernanceConflictException)
        {
            stderr.WriteLine($"keys {verb}: {ex.Message}");
            return 1;
        }
    }

    private static readonly string[] CreateOptions = ["name", "team", "tenant", "models", "rpm", "tpm", "budget", "period", "expires"];

    private static int Create(IGovernanceStore store, Dictionary<string, string> options, HashSet<string> flags, List<string> positional, TextWriter stdout, TextWriter stderr)
    {
        foreach (var name in options.Keys)
            if (!CreateOptions.Contains(name))
            {
                stderr.WriteLine($"keys create: unknown option --{name} (known: --{string.Join(", --", CreateOptions)}, --admin)");
                return 2;
            }
        if (positional.Count > 1 || (positional.Count == 1 && options.ContainsKey("name")))
        {
            stderr.WriteLine("keys create: one NAME (or --name NAME)");
            return 2;
        }
        // The same description the admin API takes, so both check it alike.
        var body = new JsonObject();
        if ((options.GetValueOrDefault("name") ?? positional.FirstOrDefault()) is { } keyName) body["name"] = keyName;
        if (options.TryGetValue("team", out var team)) body["team"] = team;
        if (options.TryGetValue("tenant", out var tenant)) body["tenant"] = tenant;
        if (options.TryGetValue("models", out var models))
            body["models"] = new JsonArray([.. models.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(m => (JsonNode?)JsonValue.Create(m))]);
        var limits = new JsonObject();
        if (!Number(options, "rpm", limits, stderr) || !Number(options, "tpm", limits, stderr)) return 2;
        if (limits.Count > 0) body["limits"] = limits;
        if (options.TryGetValue("budget", out var usd))
        {
            if (!decimal.TryParse(usd, NumberStyles.Number, CultureInfo.InvariantCulture, out var amount))
            {
                stderr.WriteLine("keys create: --budget takes dollars (12.50)");
                return 2;
            }
            var budget = new JsonObject { ["usd"] = amount };
            if (options.TryGetValue("period", out var period)) budget["period"] = period;
            body["budget"] = budget;
        }
        else if (options.ContainsKey("period"))
        {
            stderr.WriteLine("keys create: --period goes with --budget");
            return 2;
        }
        if (options.TryGetValue("expires", out var expires)) body["expiresAt"] = expires;
        if (flags.Contains("admin")) body["admin"] = true;

        var (tenants, teams, keys) = store.LoadDirectory();
        var current = new GovernanceDirectory(tenants, teams, keys, null, 0);
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using var document = JsonDocument.Parse(body.ToJsonString());
        var (key, secret, errors) = AdminApi.NewKey(document.RootElement, current, now);
        if (errors.Count > 0)
        {
            foreach (var error in errors) stderr.WriteLine($"keys create: {error}");
            return 2;
        }
        store.Insert(key, new AuditEntry(0, now, Actor, "create", "key", key.Id, null, AdminApi.AuditText(key)));
        stdout.WriteLine($"id:     {key.Id}");
        stdout.WriteLine($"key:    {secret}");
        stdout.WriteLine($"prefix: {key.Prefix}");
        stdout.WriteLine("The key is shown only this once; the store keeps its hash. A running gateway accepts it within a second.");
        return 0;
    }

    private static bool Number(Dictionary<string, string> options, string name, JsonObject into, TextWriter stderr)
    {
        if (!options.TryGetValue(name, out var text)) return true;
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long n))
        {
            into[name] = n;
            return true;
        }
        stderr.WriteLine($"keys create: --{name} takes a whole number");
        return false;
    }

    private static int List(IGovernanceStore store, HashSet<string> flags, List<string> positional, TextWriter stdout, TextWriter stderr)
    {
        if (positional.Count > 0)
        {
            stderr.WriteLine($"keys list: unexpected argument '{positional[0]}' (options: --all, --json, --config FILE)");
            return 2;
        }
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var keys = store.LoadDirectory().Keys.Where(k => flags.Contains("all") || !k.IsRevoked).ToList();
        if (flags.Contains("json"))
        {
            stdout.WriteLine(GovernanceJson.Text(w =>
            {
                w.WriteStartArray();
                foreach (var key in keys) AdminApi.KeyJson(w, key, null, null, now);
                w.WriteEndArray();
            }));
            return 0;
        }
        stdout.WriteLine($"{"ID",-21} {"NAME",-20} {"PREFIX",-12} {"TEAM",-12} {"TENANT",-12} {"STATUS",-8} EXPIRES");
        foreach (var k in keys)
        {
            string status = k.IsRevoked ? "revoked" : k.ExpiresAt is { } e && e <= now ? "expired" : "active";
            string expires = k.ExpiresAt is { } at ? DateTimeOffset.FromUnixTimeMilliseconds(at).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) : "-";
            stdout.WriteLine($"{k.Id,-21} {Cut(k.Name, 20),-20} {k.Prefix,-12} {Cut(k.Team ?? "-", 12),-12} {Cut(k.Tenant ?? "-", 12),-12} {status,-8} {expires}");
        }
        return 0;
    }

    private static string Cut(string text, int width) => text.Length <= width ? text : text[..(width - 1)] + "…";

    private static int Revoke(IGovernanceStore store, List<string> positional, TextWriter stdout, TextWriter stderr)
    {
        if (positional.Count != 1)
        {
            stderr.WriteLine("keys revoke: one key id (gateway keys list shows them)");
            return 2;
        }
        string id = positional[0];
        var key = store.LoadDirectory().Keys.FirstOrDefault(k => k.Id == id || k.Prefix == id);
        if (key is null)
        {
            stderr.WriteLine($"keys revoke: no stored key '{id}'");
            return 1;
        }
        if (key.IsRevoked)
        {
            stdout.WriteLine($"{key.Id} was already revoked");
            return 0;
        }
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var revoked = key with { RevokedAt = now, UpdatedAt = now };
        store.Update(revoked, new AuditEntry(0, now, Actor, "revoke", "key", key.Id, AdminApi.AuditText(key), AdminApi.AuditText(revoked)));
        stdout.WriteLine($"{key.Id} revoked; a running gateway refuses it within a second");
        return 0;
    }
}
