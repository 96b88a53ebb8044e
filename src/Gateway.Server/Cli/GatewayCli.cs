using System.Runtime.InteropServices;
using Gateway.Core.Config;
using Gateway.Server.Hosting;

namespace Gateway.Server.Cli;

/// <summary>The <c>gateway</c> command line.</summary>
public static class GatewayCli
{
    private const string Usage = """
        gateway: one API in front of every model provider (Chat Completions, Messages, embeddings)

        usage:
          gateway serve [--config FILE] [--urls URLS]   start the server (default http://127.0.0.1:8080)
          gateway config check [--offline] FILE        validate a configuration file; non-zero exit on errors
                                                       (--offline: env: secrets need not be set)
          gateway keys new                             print a new random gateway key and its hash for gateway.json
          gateway keys hash [KEY]                      print the hash of KEY (read from stdin when omitted)
          gateway policy test FILE --request REQ.json [--response RES.json] [--model M] [--key ID]
                                                       run a policy offline: what it decides and how long it takes
          gateway health [--url URL]                   exit 0 when a running gateway answers /health (for HEALTHCHECK)
          gateway db status|migrate [--config FILE]    the store's schema version; migrate brings it up to date
          gateway keys create NAME [--team T] [--tenant T] [--models 'mock/*,fast'] [--rpm N] [--tpm N]
                              [--budget USD [--period 1d]] [--expires 2027-01-31T00:00:00Z] [--admin]
                                                       a stored key (shown once), offline against the store
          gateway keys list [--all] [--json]           stored keys, never their secrets (--all: revoked too)
          gateway keys revoke ID                       refused from then on (a running gateway: within a second)
          gateway secrets rotate                       re-seal stored provider credentials from
                                                       GATEWAY_SECRET_KEY_PREVIOUS to GATEWAY_SECRET_KEY
          gateway --version

        Without --config, ./gateway.json is used when it exists (or the file named by GATEWAY_CONFIG).
        The listen address comes from --urls, else ASPNETCORE_URLS, else server.urls in the config.
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, TextReader stdin)
    {
        // --help anywhere (gateway serve --help, gateway config check --help) answers with the usage.
        if (args.Length == 0 || args[0] is "help" || args.Any(a => a is "-h" or "--help"))
        {
            (args.Length == 0 ? stderr : stdout).WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        if (args[0] is "--version" or "version")
        {
            stdout.WriteLine($"gateway {Version}");
            return 0;
        }

        var env = GatewayHostOptions.ProcessEnvironment();
        switch (args[0])
        {
            case "serve":
                return await ServeAsync(args[1..], env, stdout, stderr).ConfigureAwait(false);
            case "health":
                return await HealthAsync(args[1..], env, stdout, stderr).ConfigureAwait(false);
            case "policy" when args.Length >= 2 && args[1] == "test":
                return PolicyTestCommand.Run(args[2..], stdout, stderr);
            case "config" when args.Length == 3 && args[1] == "check":
                return CheckConfig(args[2], env, stdout, stderr, offline: false);
            case "config" when args.Length == 4 && args[1] == "check" && (args[2] == "--offline" || args[3] == "--offline"):
                return CheckConfig(args[2] == "--offline" ? args[3] : args[2], env, stdout, stderr, offline: true);
            case "db" when args.Length >= 2 && args[1] is "status" or "migrate":
                return DatabaseCommand.Run(args[1], args[2..], env, stdout, stderr);
            case "keys" when args.Length >= 2 && args[1] is "create" or "list" or "revoke":
                return KeysCommand.Run(args[1], args[2..], env, stdout, stderr);
            case "secrets" when args.Length >= 2 && args[1] == "rotate":
                return SecretsCommand.Run(args[2..], env, stdout, stderr);
            case "keys" when args.Length == 2 && args[1] == "new":
                {
                    string key = KeyHashing.NewKey();
                    stdout.WriteLine($"key:  {key}");
                    stdout.WriteLine($"hash: {KeyHashing.Format(KeyHashing.Hash(key))}");
                    return 0;
                }
            case "keys" when args.Length is 2 or 3 && args[1] == "hash":
                {
                    string? key = args.Length == 3 ? args[2] : stdin.ReadLine()?.Trim();
                    if (string.IsNullOrEmpty(key)) { stderr.WriteLine("keys hash: no key given"); return 2; }
                    stdout.WriteLine(KeyHashing.Format(KeyHashing.Hash(key)));
                    return 0;
                }
            default:
                stderr.WriteLine($"unknown command: {string.Join(' ', args)}");
                stderr.WriteLine(Usage);
                return 2;
        }
    }

    /// <summary>Without --config: the file GATEWAY_CONFIG names, else ./gateway.json when it exists, else none.</summary>
    internal static string? DefaultConfig(IReadOnlyDictionary<string, string> env) =>
        env.GetValueOrDefault("GATEWAY_CONFIG") is { Length: > 0 } fromEnv ? fromEnv : File.Exists("gateway.json") ? "gateway.json" : null;

    /// <summary>The version and, after a '+', the commit it was built from (the SDK stamps it from git).</summary>
    internal static string Version =>
        typeof(GatewayCli).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            is [System.Reflection.AssemblyInformationalVersionAttribute { InformationalVersion: { Length: > 0 } informational }, ..]
            ? informational
            : typeof(GatewayCli).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>
    /// <c>gateway health [--url URL]</c>: exit 0 when a running gateway answers <c>/health</c>, else 1 (a
    /// container's HEALTHCHECK, with no curl in the image). The address defaults to where
    /// <c>serve</c> listens: ASPNETCORE_URLS, else 127.0.0.1:8080; a wildcard host is asked on loopback.
    /// </summary>
    private static async Task<int> HealthAsync(string[] args, IReadOnlyDictionary<string, string> env, TextWriter stdout, TextWriter stderr)
    {
        string? url = args is ["--url", var u] ? u : args.Length == 0 ? null : "";
        if (url == "")
        {
            stderr.WriteLine("health: usage: gateway health [--url http://HOST:PORT]");
            return 2;
        }
        url ??= (env.GetValueOrDefault("ASPNETCORE_URLS") is { Length: > 0 } listen ? listen.Split(';')[0] : "http://127.0.0.1:8080")
            .Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal).Replace("://+", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://*", "://127.0.0.1", StringComparison.Ordinal).Replace("://[::]", "://127.0.0.1", StringComparison.Ordinal);
        try
        {
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
            using var response = await client.GetAsync(url.TrimEnd('/') + "/health").ConfigureAwait(false);
            stdout.WriteLine($"{url}: {(int)response.StatusCode}");
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or UriFormatException or InvalidOperationException)
        {
            stderr.WriteLine($"{url}: not answering ({ex.Message.Split('\n')[0]})");
            return 1;
        }
    }

    private static async Task<int> ServeAsync(string[] args, IReadOnlyDictionary<string, string> env, TextWriter stdout, TextWriter stderr)
    {
        string? config = null, urls = null;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string? value = i + 1 < args.Length ? args[i + 1] : null;
            if (arg is "--config" or "-c" or "--urls" && (value is null || value.StartsWith('-')))
            {
                stderr.WriteLine($"serve: {arg} needs a value ({(arg == "--urls" ? "for example --urls http://127.0.0.1:8080" : "the path of a gateway.json")})");
                return 2;
            }
            if (arg is "--config" or "-c") { config = value; i++; }
            else if (arg is "--urls") { urls = value; i++; }
            else if (arg.StartsWith("--config=", StringComparison.Ordinal)) config = arg["--config=".Length..];
            else if (arg.StartsWith("--urls=", StringComparison.Ordinal)) urls = arg["--urls=".Length..];
            else
            {
                stderr.WriteLine($"serve: unexpected argument '{arg}'");
                stderr.WriteLine(Usage);
                return 2;
            }
        }
        config ??= DefaultConfig(env);
        urls ??= env.GetValueOrDefault("ASPNETCORE_URLS") is { Length: > 0 } envUrls ? envUrls : null;
        if (config is not null && !File.Exists(config))
        {
            stderr.WriteLine($"serve: configuration file '{config}' does not exist");
            return 2;
        }

        // The process's own standard output (not a test's writer): log lines leave it in batches.
        using var batched = ReferenceEquals(stdout, Console.Out) ? BatchedStdout.Install() : null;
        if (batched is not null) stdout = Console.Out;

        GatewayApp? app;
        IReadOnlyList<string> errors;
        try
        {
            (app, errors) = GatewayHost.Create(new GatewayHostOptions { ConfigPath = config, Urls = urls, Environment = env, Banner = stdout });
        }
        catch (GatewayStartException ex)
        {
            stderr.WriteLine($"gateway: cannot start: {ex.Message}");
            return 1;
        }
        if (app is null)
        {
            stderr.WriteLine($"gateway: the configuration is not valid ({errors.Count} problem{(errors.Count == 1 ? "" : "s")}):");
            foreach (var error in errors) stderr.WriteLine($"  {error}");
            return 2;
        }
        try
        {
            await app.StartAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or UnauthorizedAccessException or InvalidOperationException)
        {
            // One line an operator can act on, not a stack trace: the address in use (or not allowed).
            stderr.WriteLine($"gateway: cannot start: {StartFailure(ex)}");
            await app.DisposeAsync().ConfigureAwait(false);
            return 1;
        }
        // SIGTERM (a container's stop), SIGINT (Ctrl+C) and SIGQUIT: a graceful stop, requests in flight finished.
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            _ = app.StopAsync();
        }
        using (PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop))
        using (PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop))
        using (PosixSignalRegistration.Create(PosixSignal.SIGQUIT, Stop))
            await app.Stopped.ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
        return 0;
    }

    /// <summary>The failure's own words, without the runtime's exception chain (Kestrel names the address).</summary>
    private static string StartFailure(Exception ex)
    {
        string message = ex.Message.Split('\n')[0].Trim();
        if (ex is IOException { InnerException: Microsoft.AspNetCore.Connections.AddressInUseException })
            return message + " Another process listens there; choose another with --urls or server.urls.";
        if (ex.GetBaseException() is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AccessDenied })
            return message + " Binding this port needs privileges; choose one above 1023.";
        return message;
    }

    private static int CheckConfig(string path, IReadOnlyDictionary<string, string> env, TextWriter stdout, TextWriter stderr, bool offline)
    {
        if (!File.Exists(path))
        {
            stderr.WriteLine($"{path}: no such file");
            return 2;
        }
        var result = ConfigLoader.LoadFile(Gateway.Providers.BuiltInProviders.Catalog, path, env, offline);
        foreach (var warning in result.Warnings) stdout.WriteLine($"warning: {warning}");
        if (!result.IsValid)
        {
            foreach (var error in result.Errors) stderr.WriteLine($"error: {error}");
            stderr.WriteLine($"{path}: {result.Errors.Count} error{(result.Errors.Count == 1 ? "" : "s")}");
            return 1;
        }
        var config = result.Config!;
        // The server refuses to start with a store setting it cannot use, or a policy that does not compile; so does the check.
        if (Gateway.Storage.StorageLocation.Parse(config.Storage.Database, config.Storage.DataDir).Error is { } storeError)
        {
            stderr.WriteLine($"error: {storeError}");
            stderr.WriteLine($"{path}: 1 error");
            return 1;
        }
        int policyErrors = 0;
        foreach (var policy in config.Policies)
        {
            if (policy.IsBuiltin) continue; // C#, and its options were checked with the config
            string code = File.ReadAllText(policy.File);
            if (Gateway.Policies.CompiledPolicy.Compile(policy.Name, code, 1, Gateway.Policies.PolicyMode.FailClosed,
                Gateway.Policies.PolicyRegistry.LimitsOf(policy.Limits), out var error, Path.GetFileName(policy.File)) is null)
            {
                stderr.WriteLine($"error: policy '{policy.Name}' ({policy.File}): {error}");
                policyErrors++;
            }
        }
        if (policyErrors > 0)
        {
            stderr.WriteLine($"{path}: {policyErrors} policy error{(policyErrors == 1 ? "" : "s")}");
            return 1;
        }
        stdout.WriteLine($"{path}: valid ({config.Providers.Count} providers, {config.Models.Count} model aliases, {config.Keys.Count} keys, {config.Policies.Count} policies)");
        return 0;
    }
}
