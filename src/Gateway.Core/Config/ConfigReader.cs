using Gateway.Core.Providers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Gateway.Core.Config;

/// <summary>
/// Turns the parsed JSON into a validated <see cref="GatewayConfig"/>, collecting every error with the
/// path it belongs to (<c>providers.local.baseUrl: must be an absolute http(s) URL</c>).
/// </summary>
/// <param name="offline">Validate without the secrets: an <c>env:</c> reference to an unset variable is not an error.</param>
internal sealed partial class ConfigReader(IReadOnlyDictionary<string, string> environment, string baseDirectory, ProviderCatalog catalog, bool offline = false)
{
    // Sections that later versions give meaning to: accepted with a warning so a file written for a
    // newer gateway still loads, but nobody is misled into thinking they apply.
    private static readonly string[] FutureSections = ["limits", "routes", "tenants", "budgets"];
    private static readonly string[] RootProperties = ["$schema", "server", "providers", "models", "keys", "storage", "policies", "pricing", "cache", .. FutureSections];

    private readonly List<string> _errors = [];
    private readonly List<string> _warnings = [];

    public ConfigLoadResult Read(JsonElement root)
    {
        CheckProperties(root, "", RootProperties);
        foreach (var section in FutureSections)
            if (TryGet(root, section, out _))
                _warnings.Add($"{section}: not supported by this version of the gateway; the section is ignored");

        var server = ReadServer(root);
        var storage = ReadStorage(root);
        var providers = ReadProviders(root);
        var models = ReadModels(root, providers);
        var keys = ReadKeys(root);
        WarnOnUnknownKeyModels(keys, models, providers);
        var policies = ReadPolicies(root);
        var pricing = ReadPricing(root, providers, models);
        var cache = ReadCache(root, providers, models);
        byte[]? master = null;
        if (environment.TryGetValue("GATEWAY_MASTER_KEY", out var masterKey) && masterKey.Length > 0)
            master = KeyHashing.Hash(masterKey);

        if (_errors.Count > 0) return new ConfigLoadResult(null, _errors, _warnings);
        return new ConfigLoadResult(new GatewayConfig
        {
            Server = server,
            Storage = storage,
            Providers = providers,
            Models = models,
            Keys = keys,
            Policies = policies,
            Pricing = pricing,
            Cache = cache,
            MasterKeyHash = master,
        }, _errors, _warnings);
    }

    private ServerConfig ReadServer(JsonElement root)
    {
        var server = new ServerConfig();
        if (TryGet(root, "server", out var s) && Expect(s, JsonValueKind.Object, "server"))
        {
            CheckProperties(s, "server", ["urls", "maxBodyBytes", "logRequests", "logFormat", "policyWorkers", "policyQueueMs", "metricsKey", "metrics", "console"]);
            if (TryGet(s, "console", out var co) && Bool(co, "server.console") is { } consoleOn)
                server = server with { Console = consoleOn };
            if (TryGet(s, "metrics", out var me) && Bool(me, "server.metrics") is { } metricsOn)
                server = server with { Metrics = metricsOn };
            if (TryGet(s, "metricsKey", out var mk) && String(mk, "server.metricsKey") is { Length: > 0 } metricsKey)
                server = server with { MetricsKey = ResolveSecret(metricsKey, "server.metricsKey") };
            if (TryGet(s, "urls", out var urls) && String(urls, "server.urls") is { } u)
            {
                foreach (var url in u.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    if (url.StartsWith("https:", StringComparison.OrdinalIgnoreCase))
                        _errors.Add($"server.urls: '{url}': the gateway listens on http:// only; end TLS in front of it (a load balancer, an ingress, nginx)");
                    else
                        CheckUrl(url, "server.urls", allowWildcardHost: true);
                }
                server = server with { Urls = u };
            }
            if (TryGet(s, "maxBodyBytes", out var max) && Long(max, "server.maxBodyBytes", 1, long.MaxValue) is { } m)
                server = server with { MaxBodyBytes = m };
            if (TryGet(s, "logRequests", out var lr) && Bool(lr, "server.logRequests") is { } b)
                server = server with { LogRequests = b };
            if (TryGet(s, "logFormat", out var lf) && String(lf, "server.logFormat") is { } format)
            {
                if (format is ServerConfig.TextLogs or ServerConfig.JsonLogs) server = server with { LogFormat = format };
                else _errors.Add($"server.logFormat: '{format}' is not a log format (\"{ServerConfig.TextLogs}\" or \"{ServerConfig.JsonLogs}\")");
            }
            if (TryGet(s, "policyWorkers", out var pw) && Long(pw, "server.policyWorkers", 1, 256) is { } workers)
                server = server with { PolicyWorkers = (int)workers };
            if (Millis(s, "policyQueueMs", "server", 1, 60_000) is { } queue)
                server = server with { PolicyQueue = queue };
        }
        if (environment.TryGetValue("GATEWAY_MAX_BODY_BYTES", out var envMax) && envMax.Length > 0)
        {
            if (long.TryParse(envMax, NumberStyles.None, CultureInfo.InvariantCulture, out long m) && m > 0)
                server = server with { MaxBodyBytes = m };
            else
                _errors.Add($"environment GATEWAY_MAX_BODY_BYTES: '{envMax}' is not a positive whole number of bytes");
        }
        return server;
    }

    private StorageConfig ReadStorage(JsonElement root)
    {
        var storage = new StorageConfig();
        if (TryGet(root, "storage", out var s) && Expect(s, JsonValueKind.Object, "storage"))
        {
            CheckProperties(s, "storage", ["dataDir", "database", "redis", "logRetentionDays", "logBodies"]);
            if (TryGet(s, "logBodies", out var lb))
            {
                if (lb.ValueKind is JsonValueKind.True or JsonValueKind.False) storage = storage with { LogBodies = lb.GetBoolean() };
                else _errors.Add("storage.logBodies: true or false");
            }
            if (TryGet(s, "logRetentionDays", out var lr) && Long(lr, "storage.logRetentionDays", 0, 36_500) is { } days)
                storage = storage with { LogRetention = TimeSpan.FromDays(days) };
            if (TryGet(s, "dataDir", out var d) && String(d, "storage.dataDir") is { Length: > 0 } dir)
                storage = storage with { DataDir = dir };
            if (TryGet(s, "database", out var db) && String(db, "storage.database") is { Length: > 0 } database)
                storage = storage with { Database = ResolveSecret(database, "storage.database") };
            if (TryGet(s, "redis", out var rd) && String(rd, "storage.redis") is { Length: > 0 } redis)
                storage = storage with { Redis = ResolveSecret(redis, "storage.redis") };
        }
        if (environment.TryGetValue("GATEWAY_DATA_DIR", out var envDir) && envDir.Length > 0)
            storage = storage with { DataDir = envDir };
        // The environment wins over the file (DESIGN §11): one image, its store chosen where it runs.
        if (environment.TryGetValue("GATEWAY_DATABASE_URL", out var envDatabase) && envDatabase.Length > 0)
            storage = storage with { Database = envDatabase };
        if (environment.TryGetValue("GATEWAY_REDIS_URL", out var envRedis) && envRedis.Length > 0)
            storage = storage with { Redis = envRedis };
        if (storage.Redis is { } url && !url.StartsWith("redis://", StringComparison.OrdinalIgnoreCase) && !url.StartsWith("rediss://", StringComparison.OrdinalIgnoreCase))
            _errors.Add("storage.redis: a Redis URL is redis://[:password@]host:port[/db] (rediss:// for TLS)");
        return storage;
    }

    private Dictionary<string, ProviderConfig> ReadProviders(JsonElement root)
    {
        var providers = new Dictionary<string, ProviderConfig>(StringComparer.Ordinal);
        if (TryGet(root, "providers", out var p) && Expect(p, JsonValueKind.Object, "providers"))
        {
            foreach (var prop in p.EnumerateObject())
            {
                string path = $"providers.{prop.Name}";
                if (!IsValidName(prop.Name))
                {
                    _errors.Add($"{path}: a provider name may use letters, digits, '-', '_' and '.' only");
                    continue;
                }
                if (providers.ContainsKey(prop.Name))
                {
                    _errors.Add($"{path}: declared twice");
                    continue;
                }
                if (ReadProvider(prop.Name, prop.Value, path) is { } provider)
                    providers[prop.Name] = provider;
            }
        }

        // A built-in provider is always there; a file may tune it but not replace it with something else.
        foreach (var builtIn in catalog.All.Where(d => d.IsBuiltIn))
        {
            if (!providers.TryGetValue(builtIn.Type, out var declared))
                providers[builtIn.Type] = new ProviderConfig { Name = builtIn.Type, Type = builtIn.Type, Origin = "built-in" };
            else if (declared.Type != builtIn.Type)
                _errors.Add($"providers.{builtIn.Type}: the name '{builtIn.Type}' is reserved for the built-in provider (type \"{builtIn.Type}\")");
        }

        // Providers found in the environment (the variable names of each official SDK), unless the
        // file declares one of the same name.
        var environmentView = new EnvironmentView(this, providers);
        foreach (var descriptor in catalog.All)
            foreach (var found in descriptor.Discover(environmentView))
                providers.TryAdd(found.Name, found);
        return providers;
    }

    private ProviderConfig? ReadProvider(string name, JsonElement p, string path)
    {
        if (!Expect(p, JsonValueKind.Object, path)) return null;
        CheckProperties(p, path, [.. CommonProviderSettings, .. catalog.OwnSettings]);
        string? type = TryGet(p, "type", out var t) ? String(t, $"{path}.type") : null;
        if (type is null)
        {
            if (!TryGet(p, "type", out _)) _errors.Add($"{path}.type: required (one of: {string.Join(", ", catalog.Types)})");
            return null;
        }
        if (catalog.Find(type) is not { } descriptor)
        {
            _errors.Add($"{path}.type: unknown provider type '{type}' (known: {string.Join(", ", catalog.Types)})");
            return null;
        }
        var config = new ProviderConfig { Name = name, Type = type };

        if (TryGet(p, "baseUrl", out var b) && String(b, $"{path}.baseUrl") is { } baseUrl)
        {
            if (CheckUrl(baseUrl, $"{path}.baseUrl", allowWildcardHost: false)) config = config with { BaseUrl = baseUrl };
        }
        // Settings another type has as its own are a mistake here, not something to ignore.
        foreach (var own in catalog.OwnSettings)
            if (!descriptor.OwnSettings.Contains(own) && TryGet(p, own, out _))
                _errors.Add($"{path}.{own}: only providers of type {string.Join(" or ", catalog.OwnersOf(own).Select(t => $"\"{t}\""))} have this setting");
        if (TryGet(p, "apiKey", out var k) && String(k, $"{path}.apiKey") is { } key)
        {
            config = config with { ApiKey = ResolveSecret(key, $"{path}.apiKey") };
            // The key travels in a header: a stray newline or curly quote would fail every request at send time.
            if (config.ApiKey is { } apiKey && HeaderValues.Problem(apiKey) is { } problem) _errors.Add($"{path}.apiKey: {problem} (the value is not shown)");
        }

        if (TryGet(p, "headers", out var h) && Expect(h, JsonValueKind.Object, $"{path}.headers"))
        {
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var header in h.EnumerateObject())
            {
                string hp = $"{path}.headers.{header.Name}";
                if (!IsValidHeaderName(header.Name)) { _errors.Add($"{hp}: not a valid HTTP header name"); continue; }
                if (header.Name.Equals("authorization", StringComparison.OrdinalIgnoreCase) || header.Name.Equals("host", StringComparison.OrdinalIgnoreCase)
                    || header.Name.Equals("content-length", StringComparison.OrdinalIgnoreCase))
                {
                    _errors.Add($"{hp}: set by the gateway itself (use apiKey for the provider's credential)");
                    continue;
                }
                if (String(header.Value, hp) is { } value && ResolveSecret(value, hp) is { } resolved)
                {
                    if (HeaderValues.Problem(resolved) is { } problem) _errors.Add($"{hp}: {problem}");
                    else headers[header.Name] = resolved;
                }
            }
            config = config with { Headers = headers };
        }

        if (TryGet(p, "models", out var m) && Expect(m, JsonValueKind.Array, $"{path}.models"))
        {
            var models = new List<string>();
            int i = 0;
            foreach (var item in m.EnumerateArray())
            {
                if (String(item, $"{path}.models[{i}]") is { Length: > 0 } id) models.Add(id);
                i++;
            }
            config = config with { Models = models };
        }

        config = config with
        {
            ConnectTimeout = Millis(p, "connectTimeoutMs", path, 1, 600_000) ?? config.ConnectTimeout,
            FirstByteTimeout = Millis(p, "firstByteTimeoutMs", path, 1, 3_600_000) ?? config.FirstByteTimeout,
            Timeout = Millis(p, "timeoutMs", path, 1, 3_600_000) ?? config.Timeout,
            IdleTimeout = Millis(p, "idleTimeoutMs", path, 0, 3_600_000) ?? config.IdleTimeout,
        };

        return descriptor.Read(config, new EntrySettings(this, p, path));
    }

    private Dictionary<string, ModelGroupConfig> ReadModels(JsonElement root, Dictionary<string, ProviderConfig> providers)
    {
        var models = new Dictionary<string, ModelGroupConfig>(StringComparer.Ordinal);
        if (!TryGet(root, "models", out var m) || !Expect(m, JsonValueKind.Object, "models")) return models;
        foreach (var prop in m.EnumerateObject())
        {
            string path = $"models.{prop.Name}";
            if (prop.Name.Length == 0) { _errors.Add("models: an alias name must not be empty"); continue; }
            var deployments = new List<DeploymentConfig>();
            if (prop.Value.ValueKind == JsonValueKind.String)
            {
                // "fast": "openai/gpt-4o-mini"
                if (ParseTarget(prop.Value.GetString()!, path, providers) is { } d) deployments.Add(d);
            }
            else if (Expect(prop.Value, JsonValueKind.Object, path))
            {
                CheckProperties(prop.Value, path, ["deployments", "strategy", "retries", "fallbacks", "fallbackOn", "breaker", "timeouts", "queue"]);
                if (TryGet(prop.Value, "deployments", out var ds) && Expect(ds, JsonValueKind.Array, $"{path}.deployments"))
                {
                    int i = 0;
                    foreach (var item in ds.EnumerateArray())
                    {
                        string dp = $"{path}.deployments[{i++}]";
                        if (!Expect(item, JsonValueKind.Object, dp)) continue;
                        CheckProperties(item, dp, ["provider", "model", "weight", "inputPrice", "outputPrice", "maxConcurrency", "rpm", "tpm", "capabilities", "contextWindow", "tags", "budget"]);
                        string? provider = TryGet(item, "provider", out var pv) ? String(pv, $"{dp}.provider") : null;
                        string? model = TryGet(item, "model", out var mv) ? String(mv, $"{dp}.model") : null;
                        int weight = TryGet(item, "weight", out var wv) && Long(wv, $"{dp}.weight", 1, 1_000_000) is { } w ? (int)w : 1;
                        if (provider is null) { _errors.Add($"{dp}.provider: required"); continue; }
                        if (string.IsNullOrEmpty(model)) { _errors.Add($"{dp}.model: required"); continue; }
                        if (Routing.ModelName.Problem(model) is { } bad) { _errors.Add($"{dp}.model: {bad}"); continue; }
                        if (!providers.ContainsKey(provider)) { _errors.Add($"{dp}.provider: no provider named '{provider}' (declared: {string.Join(", ", providers.Keys.Order())})"); continue; }
                        deployments.Add(new DeploymentConfig(provider, model, weight)
                        {
                            InputPrice = Price(item, "inputPrice", dp),
                            OutputPrice = Price(item, "outputPrice", dp),
                            MaxConcurrency = TryGet(item, "maxConcurrency", out var mc) && Long(mc, $"{dp}.maxConcurrency", 0, 100_000) is { } max ? (int)max : 0,
                            Rpm = TryGet(item, "rpm", out var rpm) && Long(rpm, $"{dp}.rpm", 0, 100_000_000) is { } perMinute ? (int)perMinute : 0,
                            Tpm = TryGet(item, "tpm", out var tpm) && Long(tpm, $"{dp}.tpm", 0, 2_000_000_000) is { } tokensPerMinute ? (int)tokensPerMinute : 0,
                            Capabilities = TryGet(item, "capabilities", out _) ? Capabilities(Patterns(item, "capabilities", dp), dp) : null,
                            ContextWindow = TryGet(item, "contextWindow", out var cw) && Long(cw, $"{dp}.contextWindow", 0, 100_000_000) is { } window ? (int)window : 0,
                            Tags = TryGet(item, "tags", out _) ? Patterns(item, "tags", dp) : [],
                            Budget = TryGet(item, "budget", out var bv) ? Governance.GovernanceJson.ReadBudget(bv, $"{dp}.budget", _errors) : null,
                        });
                    }
                    if (deployments.Count > ModelGroupConfig.MaxDeployments)
                        _errors.Add($"{path}.deployments: at most {ModelGroupConfig.MaxDeployments} deployments per group");
                }
                if (!TryGet(prop.Value, "deployments", out _)) _errors.Add($"{path}.deployments: required (at least one {{\"provider\", \"model\"}})");
            }
            if (deployments.Count == 0)
            {
                if (!_errors.Any(e => e.StartsWith(path, StringComparison.Ordinal))) _errors.Add($"{path}: needs at least one deployment");
                continue;
            }
            var group = new ModelGroupConfig(prop.Name, deployments);
            if (prop.Value.ValueKind == JsonValueKind.Object)
            {
                if (TryGet(prop.Value, "strategy", out var sv) && String(sv, $"{path}.strategy") is { } strategy)
                {
                    RoutingStrategy? parsed = strategy switch
                    {
                        "weighted" => RoutingStrategy.Weighted,
                        "round-robin" => RoutingStrategy.RoundRobin,
                        "least-busy" => RoutingStrategy.LeastBusy,
                        "lowest-latency" => RoutingStrategy.LowestLatency,
                        "lowest-cost" => RoutingStrategy.LowestCost,
                        _ => null,
                    };
                    if (parsed is null) _errors.Add($"{path}.strategy: '{strategy}' is not one of weighted, round-robin, least-busy, lowest-latency, lowest-cost");
                    else group = group with { Strategy = parsed.Value };
                }
                if (TryGet(prop.Value, "retries", out var rv) && Long(rv, $"{path}.retries", 0, 10) is { } retries) group = group with { Retries = (int)retries };
                if (TryGet(prop.Value, "fallbacks", out _)) group = group with { Fallbacks = Patterns(prop.Value, "fallbacks", path) };
                if (TryGet(prop.Value, "fallbackOn", out _))
                {
                    var on = Patterns(prop.Value, "fallbackOn", path);
                    foreach (var kind in on)
                        if (kind is not ("context_length" or "content_filter")) _errors.Add($"{path}.fallbackOn: '{kind}' is not context_length or content_filter");
                    group = group with { FallbackOn = on };
                }
                if (TryGet(prop.Value, "breaker", out var bv) && Expect(bv, JsonValueKind.Object, $"{path}.breaker"))
                {
                    CheckProperties(bv, $"{path}.breaker", ["failures", "coolDownMs", "failureRatio", "minimumCalls", "windowMs"]);
                    var breaker = BreakerConfig.Default;
                    if (TryGet(bv, "failures", out var fv) && Long(fv, $"{path}.breaker.failures", 1, 1000) is { } failures) breaker = breaker with { Failures = (int)failures };
                    breaker = breaker with { CoolDown = Millis(bv, "coolDownMs", $"{path}.breaker", 10, 3_600_000) ?? breaker.CoolDown };
                    if (TryGet(bv, "failureRatio", out var ratioValue))
                    {
                        if (ratioValue.ValueKind == JsonValueKind.Number && ratioValue.TryGetDouble(out double ratio) && ratio > 0 && ratio <= 1) breaker = breaker with { FailureRatio = ratio };
                        else _errors.Add($"{path}.breaker.failureRatio: expected a number above 0 and at most 1 (0.5: half the calls in the window failed)");
                    }
                    if (TryGet(bv, "minimumCalls", out var mv2) && Long(mv2, $"{path}.breaker.minimumCalls", 1, 1_000_000) is { } minimum) breaker = breaker with { MinimumCalls = (int)minimum };
                    breaker = breaker with { Window = Millis(bv, "windowMs", $"{path}.breaker", 100, 3_600_000) ?? breaker.Window };
                    if (breaker.FailureRatio == 0 && (TryGet(bv, "minimumCalls", out _) || TryGet(bv, "windowMs", out _)))
                        _warnings.Add($"{path}.breaker: minimumCalls and windowMs only apply with failureRatio");
                    group = group with { Breaker = breaker };
                }
                if (TryGet(prop.Value, "queue", out var qv) && Expect(qv, JsonValueKind.Object, $"{path}.queue"))
                {
                    CheckProperties(qv, $"{path}.queue", ["maxLength", "maxWaitMs"]);
                    if (TryGet(qv, "maxLength", out var ql) && Long(ql, $"{path}.queue.maxLength", 0, 100_000) is { } length) group = group with { QueueLength = (int)length };
                    group = group with { QueueWait = Millis(qv, "maxWaitMs", $"{path}.queue", 1, 600_000) ?? group.QueueWait };
                }
                if (TryGet(prop.Value, "timeouts", out var tv) && Expect(tv, JsonValueKind.Object, $"{path}.timeouts"))
                {
                    CheckProperties(tv, $"{path}.timeouts", ["connectMs", "firstByteMs", "idleMs", "totalMs"]);
                    string at = $"{path}.timeouts";
                    group = group with
                    {
                        ConnectTimeout = Millis(tv, "connectMs", at, 1, 600_000) ?? group.ConnectTimeout,
                        FirstByteTimeout = Millis(tv, "firstByteMs", at, 1, 3_600_000) ?? group.FirstByteTimeout,
                        IdleTimeout = Millis(tv, "idleMs", at, 1, 3_600_000) ?? group.IdleTimeout,
                        Timeout = Millis(tv, "totalMs", at, 1, 3_600_000) ?? group.Timeout,
                    };
                }
            }
            models[prop.Name] = group;
        }
        // Fallbacks name groups; checked once all are known.
        foreach (var (name, group) in models)
            for (int i = 0; i < group.Fallbacks.Count; i++)
            {
                string fallback = group.Fallbacks[i];
                if (fallback == name) _errors.Add($"models.{name}.fallbacks[{i}]: a group cannot fall back to itself");
                else if (!models.ContainsKey(fallback)) _errors.Add($"models.{name}.fallbacks[{i}]: no model group named '{fallback}'");
            }
        return models;
    }

    private ModelCapabilities Capabilities(List<string> names, string path)
    {
        var capabilities = ModelCapabilities.None;
        foreach (var name in names)
        {
            switch (name)
            {
                case "tools": capabilities |= ModelCapabilities.Tools; break;
                case "vision": capabilities |= ModelCapabilities.Vision; break;
                case "json_schema": capabilities |= ModelCapabilities.JsonSchema; break;
                default: _errors.Add($"{path}.capabilities: '{name}' is not tools, vision or json_schema"); break;
            }
        }
        return capabilities;
    }

    /// <summary><c>"pricing": {"openai/gpt-4o-mini": {"input": 0.15, "output": 0.6, "cachedInput": 0.075}, "fast": {...}}</c>.</summary>
    private Dictionary<string, Pricing.ModelPrice> ReadPricing(JsonElement root, Dictionary<string, ProviderConfig> providers, Dictionary<string, ModelGroupConfig> models)
    {
        var pricing = new Dictionary<string, Pricing.ModelPrice>(StringComparer.Ordinal);
        if (!TryGet(root, "pricing", out var p) || !Expect(p, JsonValueKind.Object, "pricing")) return pricing;
        foreach (var entry in p.EnumerateObject())
        {
            string path = $"pricing.{entry.Name}";
            if (!NamesServedModel(entry.Name, providers, models))
            {
                _errors.Add($"{path}: name a configured provider's model (\"provider/model\") or an alias from models");
                continue;
            }
            if (!Expect(entry.Value, JsonValueKind.Object, path)) continue;
            CheckProperties(entry.Value, path, ["input", "output", "cachedInput", "cacheWrite"]);
            if (!TryGet(entry.Value, "input", out _) || !TryGet(entry.Value, "output", out _))
            {
                _errors.Add($"{path}: input and output are required (USD per million tokens)");
                continue;
            }
            decimal? Optional(string name) => TryGet(entry.Value, name, out _) ? (decimal)Price(entry.Value, name, path) : null;
            pricing[entry.Name] = new Pricing.ModelPrice((decimal)Price(entry.Value, "input", path), (decimal)Price(entry.Value, "output", path),
                Optional("cachedInput"), Optional("cacheWrite"));
        }
        return pricing;
    }

    private double Price(JsonElement item, string name, string path)
    {
        if (!TryGet(item, name, out var value)) return 0;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out double price) && price >= 0 && double.IsFinite(price)) return price;
        _errors.Add($"{path}.{name}: a price in USD per million tokens (a number, 0 or more)");
        return 0;
    }

    private DeploymentConfig? ParseTarget(string target, string path, Dictionary<string, ProviderConfig> providers)
    {
        int slash = target.IndexOf('/');
        if (slash <= 0 || slash == target.Length - 1)
        {
            _errors.Add($"{path}: '{target}' is not of the form provider/model");
            return null;
        }
        string provider = target[..slash];
        if (!providers.ContainsKey(provider))
        {
            _errors.Add($"{path}: no provider named '{provider}' (declared: {string.Join(", ", providers.Keys.Order())})");
            return null;
        }
        if (Routing.ModelName.Problem(target[(slash + 1)..]) is { } bad)
        {
            _errors.Add($"{path}: {bad}");
            return null;
        }
        return new DeploymentConfig(provider, target[(slash + 1)..], 1);
    }

    /// <summary>A key restricted to a name that is neither a model alias nor <c>provider/...</c> of a known provider can never use it: a warning.</summary>
    private void WarnOnUnknownKeyModels(List<KeyConfig> keys, Dictionary<string, ModelGroupConfig> models, Dictionary<string, ProviderConfig> providers)
    {
        for (int i = 0; i < keys.Count; i++)
            foreach (var pattern in keys[i].Models)
            {
                if (pattern.Contains('*', StringComparison.Ordinal) || models.ContainsKey(pattern)) continue;
                int slash = pattern.IndexOf('/', StringComparison.Ordinal);
                if (slash > 0 && providers.ContainsKey(pattern[..slash])) continue;
                _warnings.Add($"keys[{i}] ({keys[i].Id}).models: '{pattern}' is no model alias and names no configured provider, so the key can never use it");
            }
    }

    private List<KeyConfig> ReadKeys(JsonElement root)
    {
        var keys = new List<KeyConfig>();
        if (!TryGet(root, "keys", out var k) || !Expect(k, JsonValueKind.Array, "keys")) return keys;
        var ids = new HashSet<string>(StringComparer.Ordinal);
        int i = 0;
        foreach (var item in k.EnumerateArray())
        {
            string path = $"keys[{i++}]";
            if (!Expect(item, JsonValueKind.Object, path)) continue;
            CheckProperties(item, path, ["id", "hash", "models", "admin", "priority", "rpm", "tpm", "limits", "budget", "budgetUsd", "tenant"]);
            if (TryGet(item, "tenant", out _))
                _warnings.Add($"{path}.tenant: a key of the file belongs to no tenant; keys that do are made through the admin API (POST /admin/v1/keys) or `gateway keys create`");
            var limits = Governance.RateLimits.None;
            if (TryGet(item, "limits", out var lv))
            {
                limits = Governance.GovernanceJson.ReadLimits(lv, $"{path}.limits", _errors);
                if (TryGet(item, "rpm", out _) || TryGet(item, "tpm", out _)) _errors.Add($"{path}: rpm and tpm go in limits, or beside it, not both");
            }
            else
            {
                int rpm = TryGet(item, "rpm", out var rv) && Long(rv, $"{path}.rpm", 0, Governance.GovernanceJson.MaxRpm) is { } r ? (int)r : 0;
                int tpm = TryGet(item, "tpm", out var tv) && Long(tv, $"{path}.tpm", 0, Governance.GovernanceJson.MaxTpm) is { } t ? (int)t : 0;
                limits = new Governance.RateLimits(rpm, tpm);
            }
            Governance.Budget? budget = null;
            if (TryGet(item, "budget", out var bv)) budget = Governance.GovernanceJson.ReadBudget(bv, $"{path}.budget", _errors);
            if (TryGet(item, "budgetUsd", out var buv))
            {
                // The short form: a lifetime budget in dollars.
                if (budget is not null || TryGet(item, "budget", out _)) _errors.Add($"{path}.budgetUsd: use budget or budgetUsd, not both");
                else if (buv.ValueKind == JsonValueKind.Number && buv.TryGetDecimal(out var usd) && usd >= 0 && usd <= Governance.GovernanceJson.MaxUsd)
                    budget = new Governance.Budget(Governance.Budget.ToNanos(usd), Governance.BudgetPeriod.Lifetime);
                else _errors.Add($"{path}.budgetUsd: a number of dollars from 0 to {Governance.GovernanceJson.MaxUsd}");
            }
            string? id = TryGet(item, "id", out var iv) ? String(iv, $"{path}.id") : null;
            if (string.IsNullOrEmpty(id)) { _errors.Add($"{path}.id: required"); continue; }
            if (!ids.Add(id)) { _errors.Add($"{path}.id: '{id}' is used by another key"); continue; }
            string? hashText = TryGet(item, "hash", out var hv) ? String(hv, $"{path}.hash") : null;
            if (hashText is null) { _errors.Add($"{path}.hash: required (\"sha256:<64 hex digits>\"; `gateway keys hash` prints it)"); continue; }
            if (!KeyHashing.TryParse(hashText, out var hash)) { _errors.Add($"{path}.hash: expected \"sha256:<64 hex digits>\""); continue; }
            var models = new List<string>();
            if (TryGet(item, "models", out var mv) && Expect(mv, JsonValueKind.Array, $"{path}.models"))
            {
                int j = 0;
                foreach (var m in mv.EnumerateArray())
                    if (String(m, $"{path}.models[{j++}]") is { Length: > 0 } pattern) models.Add(pattern);
            }
            bool admin = TryGet(item, "admin", out var av) && Bool(av, $"{path}.admin") == true;
            int priority = 1;
            if (TryGet(item, "priority", out var prv) && String(prv, $"{path}.priority") is { } p)
            {
                priority = p switch { "low" => 0, "normal" => 1, "high" => 2, _ => -1 };
                if (priority < 0) { _errors.Add($"{path}.priority: \"low\", \"normal\" or \"high\", not '{p}'"); priority = 1; }
            }
            keys.Add(new KeyConfig(id, hash, models, admin) { Priority = priority, Limits = limits, Budget = budget });
        }
        return keys;
    }

    private List<PolicyConfig> ReadPolicies(JsonElement root)
    {
        var policies = new List<PolicyConfig>();
        if (!TryGet(root, "policies", out var p) || !Expect(p, JsonValueKind.Array, "policies")) return policies;
        var names = new HashSet<string>(StringComparer.Ordinal);
        int i = 0;
        foreach (var item in p.EnumerateArray())
        {
            string path = $"policies[{i++}]";
            if (!Expect(item, JsonValueKind.Object, path)) continue;
            CheckProperties(item, path, ["file", "builtin", "redact", "name", "mode", "models", "keys", "headers", "limits"]);
            string? file = TryGet(item, "file", out var fv) ? String(fv, $"{path}.file") : null;
            string? builtin = TryGet(item, "builtin", out var bv) ? String(bv, $"{path}.builtin") : null;
            string full;
            if (builtin is not null)
            {
                if (file is not null) { _errors.Add($"{path}: either \"file\" or \"builtin\", not both"); continue; }
                if (builtin != PolicyConfig.PiiRedaction) { _errors.Add($"{path}.builtin: unknown built-in policy '{builtin}' (known: {PolicyConfig.PiiRedaction})"); continue; }
                full = PolicyConfig.BuiltinPrefix + builtin;
            }
            else
            {
                if (string.IsNullOrEmpty(file)) { _errors.Add($"{path}.file: required (the policy's .js file), or \"builtin\": \"{PolicyConfig.PiiRedaction}\""); continue; }
                full = Path.GetFullPath(file, baseDirectory);
                // A policy that silently does not run is a hole in the operator's rules: a missing file stops the start.
                if (!File.Exists(full)) { _errors.Add($"{path}.file: '{full}' does not exist"); continue; }
            }
            string name = TryGet(item, "name", out var nv) && String(nv, $"{path}.name") is { Length: > 0 } n ? n : builtin ?? Path.GetFileNameWithoutExtension(full);
            if (!names.Add(name)) { _errors.Add($"{path}.name: '{name}' is used by another policy (name one with \"name\")"); continue; }
            bool failOpen = false;
            if (TryGet(item, "mode", out var mv) && String(mv, $"{path}.mode") is { } mode)
            {
                if (mode is not ("fail-closed" or "fail-open")) _errors.Add($"{path}.mode: \"fail-closed\" or \"fail-open\", not '{mode}'");
                failOpen = mode == "fail-open";
            }
            var limits = new PolicyLimitsConfig();
            if (TryGet(item, "limits", out var lv) && Expect(lv, JsonValueKind.Object, $"{path}.limits"))
            {
                CheckProperties(lv, $"{path}.limits", ["timeoutMs", "maxStatements", "maxMemoryBytes", "maxRecursion", "regexTimeoutMs"]);
                if (TryGet(lv, "timeoutMs", out var t) && Long(t, $"{path}.limits.timeoutMs", 1, 60_000) is { } timeout) limits = limits with { TimeoutMs = (int)timeout };
                if (TryGet(lv, "maxStatements", out var st) && Long(st, $"{path}.limits.maxStatements", 1, int.MaxValue - 1) is { } statements) limits = limits with { MaxStatements = (int)statements };
                if (TryGet(lv, "maxMemoryBytes", out var mb) && Long(mb, $"{path}.limits.maxMemoryBytes", 1024 * 1024, long.MaxValue) is { } memory) limits = limits with { MaxMemoryBytes = memory };
                if (TryGet(lv, "maxRecursion", out var r) && Long(r, $"{path}.limits.maxRecursion", 1, 10_000) is { } recursion) limits = limits with { MaxRecursion = (int)recursion };
                if (TryGet(lv, "regexTimeoutMs", out var rt) && Long(rt, $"{path}.limits.regexTimeoutMs", 1, 10_000) is { } regex) limits = limits with { RegexTimeoutMs = (int)regex };
            }
            var policy = new PolicyConfig(name, full, failOpen, Patterns(item, "models", path), Patterns(item, "keys", path), limits);
            if (TryGet(item, "headers", out _))
                policy = policy with { Headers = [.. Patterns(item, "headers", path).Select(h => h.ToLowerInvariant()).Distinct(StringComparer.Ordinal)] };
            if (TryGet(item, "redact", out var rv))
            {
                if (builtin is null) _errors.Add($"{path}.redact: only for \"builtin\": \"{PolicyConfig.PiiRedaction}\"");
                else if (Expect(rv, JsonValueKind.Object, $"{path}.redact"))
                {
                    CheckProperties(rv, $"{path}.redact", ["mode", "kinds"]);
                    if (TryGet(rv, "mode", out var rm) && String(rm, $"{path}.redact.mode") is { } redactMode)
                    {
                        if (redactMode is not ("mask" or "hash" or "placeholder")) _errors.Add($"{path}.redact.mode: \"mask\", \"hash\" or \"placeholder\", not '{redactMode}'");
                        policy = policy with { RedactMode = redactMode };
                    }
                    if (TryGet(rv, "kinds", out _))
                    {
                        var kinds = Patterns(rv, "kinds", $"{path}.redact");
                        foreach (var kind in kinds)
                            if (kind is not ("email" or "phone" or "credit_card" or "iban" or "us_ssn" or "ip_address" or "secret"))
                                _errors.Add($"{path}.redact.kinds: unknown kind '{kind}' (email, phone, credit_card, iban, us_ssn, ip_address, secret)");
                        policy = policy with { RedactKinds = kinds };
                    }
                }
            }
            policies.Add(policy);
        }
        return policies;
    }

    /// <summary>A list of glob patterns; absent means every one (<c>*</c>).</summary>
    private List<string> Patterns(JsonElement item, string property, string path)
    {
        if (!TryGet(item, property, out var value)) return ["*"];
        var patterns = new List<string>();
        if (!Expect(value, JsonValueKind.Array, $"{path}.{property}")) return patterns;
        int j = 0;
        foreach (var p in value.EnumerateArray())
            if (String(p, $"{path}.{property}[{j++}]") is { Length: > 0 } pattern) patterns.Add(pattern);
        return patterns;
    }

    // ---- helpers -------------------------------------------------------------------------------

    private string? Env(string name) => environment.TryGetValue(name, out var v) && v.Length > 0 ? v : null;

    private string? ResolveSecret(string value, string path)
    {
        if (!value.StartsWith("env:", StringComparison.Ordinal)) return value;
        string name = value[4..];
        if (Env(name) is { } secret) return secret;
        // Checked where the secrets are not (a CI job, a laptop): what the value will be is not known here.
        if (offline) return "offline-placeholder";
        _errors.Add($"{path}: environment variable {name} is not set");
        return null;
    }

    private static bool TryGet(JsonElement obj, string name, out JsonElement value)
    {
        if (obj.ValueKind == JsonValueKind.Object)
            foreach (var prop in obj.EnumerateObject())
                if (string.Equals(prop.Name, name, StringComparison.OrdinalIgnoreCase))
                {
                    value = prop.Value;
                    return true;
                }
        value = default;
        return false;
    }

    private void CheckProperties(JsonElement obj, string path, string[] known)
    {
        if (obj.ValueKind != JsonValueKind.Object) return;
        foreach (var prop in obj.EnumerateObject())
            if (!known.Contains(prop.Name, StringComparer.OrdinalIgnoreCase))
                _errors.Add($"{Join(path, prop.Name)}: unknown setting (known here: {string.Join(", ", known.Where(k => k != "$schema"))})");
    }

    private bool Expect(JsonElement value, JsonValueKind kind, string path)
    {
        if (value.ValueKind == kind) return true;
        _errors.Add($"{path}: expected {Describe(kind)}, found {Describe(value.ValueKind)}");
        return false;
    }

    private string? String(JsonElement value, string path)
    {
        if (value.ValueKind == JsonValueKind.String) return value.GetString();
        _errors.Add($"{path}: expected a string, found {Describe(value.ValueKind)}");
        return null;
    }

    /// <summary>The optional duration <c>obj.name</c> in milliseconds, checked against its range; null when absent or invalid (the error is recorded).</summary>
    private TimeSpan? Millis(JsonElement obj, string name, string path, long min, long max) =>
        TryGet(obj, name, out var value) && Long(value, $"{path}.{name}", min, max) is { } ms ? TimeSpan.FromMilliseconds(ms) : null;

    private long? Long(JsonElement value, string path, long min, long max)
    {
        long n;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out n)) { }
        else if (value.ValueKind == JsonValueKind.String && long.TryParse(value.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out n)) { }
        else
        {
            _errors.Add($"{path}: expected a whole number, found {Describe(value.ValueKind)}");
            return null;
        }
        if (n < min || n > max)
        {
            _errors.Add($"{path}: {n} is out of range ({min}..{max})");
            return null;
        }
        return n;
    }

    private bool? Bool(JsonElement value, string path)
    {
        if (value.ValueKind is JsonValueKind.True or JsonValueKind.False) return value.GetBoolean();
        if (value.ValueKind == JsonValueKind.String && bool.TryParse(value.GetString(), out bool b)) return b;
        _errors.Add($"{path}: expected true or false, found {Describe(value.ValueKind)}");
        return null;
    }

    private bool CheckUrl(string url, string path, bool allowWildcardHost)
    {
        string probe = allowWildcardHost ? url.Replace("://*", "://wildcard", StringComparison.Ordinal).Replace("://+", "://wildcard", StringComparison.Ordinal) : url;
        if (Uri.TryCreate(probe, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) && uri.Query.Length == 0)
            return true;
        _errors.Add($"{path}: '{url}' is not an absolute http(s) URL without a query");
        return false;
    }

    private static bool IsValidName(string name) =>
        name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    private static bool IsValidHeaderName(string name) =>
        name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c));

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };
}
