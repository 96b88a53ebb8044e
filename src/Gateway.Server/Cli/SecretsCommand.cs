using System.Security.Cryptography;
using Gateway.Core.Governance;
using Gateway.Storage;

namespace Gateway.Server.Cli;

/// <summary>
/// <c>gateway secrets rotate</c>: re-seals every stored provider credential from the key in
/// <c>GATEWAY_SECRET_KEY_PREVIOUS</c> to the one in <c>GATEWAY_SECRET_KEY</c>, all in one transaction
/// (a credential that opens with neither stops it, and nothing changes).
/// </summary>
internal static class SecretsCommand
{
    public const string PreviousVariable = "GATEWAY_SECRET_KEY_PREVIOUS";

    public static int Run(string[] args, IReadOnlyDictionary<string, string> env, TextWriter stdout, TextWriter stderr)
    {
        string? config = null;
        for (int i = 0; i < args.Length; i++)
        {
            if (DatabaseCommand.TakeConfig(args, ref i, ref config)) continue;
            stderr.WriteLine($"secrets rotate: unexpected argument '{args[i]}' (only --config FILE)");
            return 2;
        }
        var next = SecretBox.FromBase64(env.GetValueOrDefault(SecretBox.Variable), out var nextProblem);
        var previous = SecretBox.FromBase64(env.GetValueOrDefault(PreviousVariable), out var previousProblem);
        if (next is null || previous is null)
        {
            stderr.WriteLine("secrets rotate: set GATEWAY_SECRET_KEY_PREVIOUS to the key the credentials are sealed with and GATEWAY_SECRET_KEY to the new one "
                + "(openssl rand -base64 32)");
            stderr.WriteLine($"  {(next is null ? nextProblem : previousProblem!.Replace(SecretBox.Variable, PreviousVariable, StringComparison.Ordinal))}");
            return 2;
        }
        var (location, exit) = DatabaseCommand.Locate(config, env, stdout, stderr);
        if (location is null) return exit == 0 ? 1 : exit;
        try
        {
            var store = DatabaseCommand.OpenCurrent(location);
            var resealed = new List<StoredProvider>();
            int already = 0;
            long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            foreach (var provider in store.LoadProviders())
            {
                if (provider.Secret is not { } sealedSecret) continue;
                string clear;
                try
                {
                    clear = previous.Open(sealedSecret, provider.Name);
                }
                catch (CryptographicException)
                {
                    if (Opens(next, sealedSecret, provider.Name))
                    {
                        already++;
                        continue;
                    }
                    stderr.WriteLine($"secrets rotate: the credentials of '{provider.Name}' open with neither key; nothing was changed");
                    return 1;
                }
                resealed.Add(provider with { Secret = next.Seal(clear, provider.Name), UpdatedAt = now });
            }
            if (resealed.Count > 0)
                store.ReplaceSecrets(resealed, new AuditEntry(0, now, KeysCommand.Actor, "rotate-secrets", "provider", "*", null,
                    GovernanceJson.Text(w =>
                    {
                        w.WriteStartObject();
                        w.WriteStartArray("providers");
                        foreach (var p in resealed) w.WriteStringValue(p.Name);
                        w.WriteEndArray();
                        w.WriteEndObject();
                    })));
            stdout.WriteLine($"{resealed.Count} stored provider credential(s) re-sealed with the new GATEWAY_SECRET_KEY"
                + (already > 0 ? $" ({already} already were)" : "") + ". Restart the gateway with the new key; the previous one no longer opens them.");
            return 0;
        }
        catch (Exception ex) when (GatewayStore.IsStoreFailure(ex))
        {
            stderr.WriteLine($"secrets rotate: {ex.Message}");
            return 1;
        }
    }

    private static bool Opens(SecretBox box, SealedSecret secret, string name)
    {
        try
        {
            box.Open(secret, name);
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}
