using Gateway.Core.Config;

namespace Gateway.Core.Tests.Config;

public class ConfigLoaderTests
{
    private static readonly Dictionary<string, string> NoEnv = [];

    [Theory]
    [InlineData("\"headers\": { \"x-team\": \"caf\u00e9\" }", "providers.p.headers.x-team: may hold only visible ASCII")]
    [InlineData("\"headers\": { \"x-team\": \"a\\u0000b\" }", "providers.p.headers.x-team: may hold only visible ASCII")]
    [InlineData("\"headers\": { \"x-team\": \"a\\nb\" }", "providers.p.headers.x-team: must not contain line breaks")]
    [InlineData("\"apiKey\": \"sk-\u201ckey\u201d\"", "providers.p.apiKey: may hold only visible ASCII")]
    [InlineData("\"apiKey\": \"sk-key\\n\"", "providers.p.apiKey: must not contain line breaks")]
    public void Load_HeaderValuesAProviderCannotBeSent_AreConfigErrors(string setting, string error)
    {
        var result = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, $$"""{ "providers": { "p": { "type": "openai-compatible", "baseUrl": "http://127.0.0.1:1/v1", "apiKey": "k", {{setting}} } } }""".Replace("\"apiKey\": \"k\", \"apiKey\"", "\"apiKey\"", StringComparison.Ordinal),
            "gw.json", new Dictionary<string, string>());
        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.StartsWith(error, StringComparison.Ordinal));
        Assert.DoesNotContain(result.Errors, e => e.Contains("sk-", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("\"fast\": \"local/..\"")]
    [InlineData("\"fast\": \"local/a/../b\"")]
    [InlineData("\"fast\": { \"deployments\": [ { \"provider\": \"local\", \"model\": \".\" } ] }")]
    [InlineData("\"fast\": { \"deployments\": [ { \"provider\": \"local\", \"model\": \"a//b\" } ] }")]
    [InlineData("\"fast\": { \"deployments\": [ { \"provider\": \"local\", \"model\": \"gpt\\u0000\" } ] }")]
    public void Load_DeploymentNamesAProviderCouldNotSafelyUse_AreConfigErrors(string model)
    {
        var result = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, $$"""{ "providers": { "local": { "type": "openai-compatible", "baseUrl": "http://127.0.0.1:1/v1" } }, "models": { {{model}} } }""",
            "gw.json", NoEnv);
        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.StartsWith("models.fast", StringComparison.Ordinal) && e.Contains("'model'", StringComparison.Ordinal));
    }

    [Fact]
    public void DeploymentBudget_IsRead_AndABadOneIsAnErrorWithItsPath()
    {
        const string Config = """{ "models": { "fast": { "deployments": [ { "provider": "mock", "model": "echo", "budget": BUDGET } ] } } }""";
        var good = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, Config.Replace("BUDGET", """{"usd": 2.5, "period": "1h"}""", StringComparison.Ordinal), "gw.json", NoEnv);
        Assert.Equal(new Gateway.Core.Governance.Budget(2_500_000_000, Gateway.Core.Governance.BudgetPeriod.Hour), good.Config!.Models["fast"].Deployments[0].Budget);
        var bad = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, Config.Replace("BUDGET", """{"usd": 2.5, "period": "daily"}""", StringComparison.Ordinal), "gw.json", NoEnv);
        Assert.Contains(bad.Errors, e => e.StartsWith("models.fast.deployments[0].budget.period: one of 1m, 1h, 1d, 1w, 1M", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("\"rpm\": 60, \"tpm\": 1000", 60, 1000, null, null)]
    [InlineData("\"limits\": {\"rpm\": 5}, \"budgetUsd\": 12.5", 5, 0, 12_500_000_000L, null)]
    [InlineData("\"budget\": {\"usd\": 1, \"period\": \"1w\"}", 0, 0, 1_000_000_000L, null)]
    [InlineData("\"limits\": {\"rpm\": 5}, \"rpm\": 6", 0, 0, null, "keys[0]: rpm and tpm go in limits, or beside it, not both")]
    [InlineData("\"budget\": {\"usd\": 1}, \"budgetUsd\": 2", 0, 0, null, "keys[0].budgetUsd: use budget or budgetUsd, not both")]
    [InlineData("\"rpm\": -1", 0, 0, null, "keys[0].rpm")]
    public void FileKeys_CarryLimitsAndBudgets(string settings, int rpm, int tpm, long? budgetNanos, string? error)
    {
        string hash = KeyHashing.Format(KeyHashing.Hash("k"));
        var result = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, $$"""{ "keys": [ { "id": "a", "hash": "{{hash}}", {{settings}} } ] }""", "gw.json", NoEnv);
        if (error is not null)
        {
            Assert.Contains(result.Errors, e => e.StartsWith(error, StringComparison.Ordinal));
            return;
        }
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var key = result.Config!.Keys[0];
        Assert.Equal(new Gateway.Core.Governance.RateLimits(rpm, tpm), key.Limits);
        Assert.Equal(budgetNanos, key.Budget?.LimitNanos);
    }

    [Fact]
    public void DatabaseUrl_FromTheEnvironment_WinsOverTheFile()
    {
        var result = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, """{"storage":{"database":"sqlite:/from/file.db"}}""", "gw.json",
            new Dictionary<string, string> { ["GATEWAY_DATABASE_URL"] = "sqlite:/from/env.db" });
        Assert.Equal("sqlite:/from/env.db", result.Config!.Storage.Database);
    }

    [Fact]
    public void LogFormat_TextByDefault_JsonOnRequest_AnythingElseRefused()
    {
        Assert.Equal(ServerConfig.TextLogs, ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, null, "none", NoEnv).Config!.Server.LogFormat);
        Assert.Equal(ServerConfig.JsonLogs, ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, """{"server":{"logFormat":"json"}}""", "gw.json", NoEnv).Config!.Server.LogFormat);
        var bad = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, """{"server":{"logFormat":"xml"}}""", "gw.json", NoEnv);
        Assert.Contains("server.logFormat: 'xml' is not a log format (\"text\" or \"json\")", bad.Errors);
    }

    [Fact]
    public void ServerUrls_HttpsIsRefused_WithWhereTlsEnds()
    {
        var bad = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, """{"server":{"urls":"http://0.0.0.0:8080;https://0.0.0.0:8443"}}""", "gw.json", NoEnv);
        Assert.Equal(["server.urls: 'https://0.0.0.0:8443': the gateway listens on http:// only; end TLS in front of it (a load balancer, an ingress, nginx)"], bad.Errors);
        Assert.True(ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, """{"server":{"urls":"http://0.0.0.0:8080"}}""", "gw.json", NoEnv).IsValid);
    }

    [Fact]
    public void Load_EnvironmentKeyWithATrailingNewline_IsAConfigError()
    {
        var result = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, null, "env", new Dictionary<string, string> { ["OPENAI_API_KEY"] = "sk-abc\n" });
        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.StartsWith("environment OPENAI_API_KEY: must not contain line breaks", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_NoFile_GivesDefaultsWithMock()
    {
        var result = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, null, "none", NoEnv);
        Assert.True(result.IsValid);
        var config = result.Config!;
        Assert.Equal("http://127.0.0.1:8080", config.Server.Urls);
        Assert.Equal(20 * 1024 * 1024, config.Server.MaxBodyBytes);
        Assert.Equal("mock", config.Providers["mock"].Type);
        Assert.Single(config.Providers);
    }

    [Fact]
    public void Load_CommentsAndTrailingCommas_AreAccepted()
    {
        const string text = """
            {
              // local models
              "providers": {
                "local": { "type": "openai-compatible", "baseUrl": "http://127.0.0.1:11434/v1", }, /* ollama */
              },
            }
            """;
        var result = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, text, "gateway.json", NoEnv);
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Equal("http://127.0.0.1:11434/v1", result.Config!.Providers["local"].BaseUrl);
    }

    [Fact]
    public void Load_SyntaxError_NamesLineAndColumn()
    {
        var result = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, "{\n  \"server\": {\n    \"urls\": \n  }\n}", "gw.json", NoEnv);
        Assert.False(result.IsValid);
        Assert.StartsWith("gw.json:4:", Assert.Single(result.Errors));
    }

    [Theory]
    [InlineData("{ \"server\": { \"urls\": \"x\" ,, } }", "gw.json:1:", "unexpected ','")]
    [InlineData("{\n  \"server\": {\n    \"urls\": \n  }\n}", "gw.json:4:", "unexpected '}'")]
    [InlineData("{ \"server\": { \"urls\": \"x\" }", "gw.json:1:", "ends too early")]
    [InlineData("{ \"server\" { } }", "gw.json:1:", "unexpected '{'")]
    [InlineData("{ \"a\": \"caf\u00e9\" \"b\": 1 }", "gw.json:1:", "unexpected '\"'")]
    public void Load_SyntaxError_OneLineInTheGatewaysOwnWords(string text, string position, string problem)
    {
        var result = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, text, "gw.json", NoEnv);
        string error = Assert.Single(result.Errors);
        Assert.StartsWith(position, error, StringComparison.Ordinal);
        Assert.Contains(problem, error, StringComparison.Ordinal);
        Assert.DoesNotContain("LineNumber", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Expected", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
    }

    [Fact]
    public void Load_ManyProblems_ReportsEveryOneWithItsPath()
    {
        const string text = """
            {
              "server": { "maxBodyBytes": -5, "port": 1 },
              "providers": {
                "a": { "type": "openai-compatible" },
                "b": { "type": "nonsense" },
                "c": { "type": "openai", "apiKey": "env:NOT_SET_ANYWHERE", "timeoutMs": "soon" }
              },
              "models": { "fast": "nowhere/model", "slow": { "deployments": [ { "provider": "a" } ] } },
              "keys": [ { "id": "k", "hash": "plain" } ]
            }
            """;
        var errors = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, text, "gw.json", NoEnv).Errors;
        string all = string.Join("\n", errors);
        Assert.Contains("server.maxBodyBytes: -5 is out of range", all);
        Assert.Contains("server.port: unknown setting", all);
        Assert.Contains("providers.a.baseUrl: required", all);
        Assert.Contains("providers.b.type: unknown provider type 'nonsense'", all);
        Assert.Contains("providers.c.apiKey: environment variable NOT_SET_ANYWHERE is not set", all);
        Assert.Contains("providers.c.timeoutMs: expected a whole number", all);
        Assert.Contains("models.fast: no provider named 'nowhere'", all);
        Assert.Contains("models.slow.deployments[0].model: required", all);
        Assert.Contains("keys[0].hash: expected \"sha256:", all);
        Assert.Equal(9, errors.Count);
    }

    [Fact]
    public void Load_EnvironmentOverrides_ApplyOnTopOfTheFile()
    {
        var env = new Dictionary<string, string>
        {
            ["GATEWAY__server__maxBodyBytes"] = "4096",
            ["GATEWAY__PROVIDERS__local__baseUrl"] = "http://127.0.0.1:9/v1",
            ["GATEWAY__providers__extra__type"] = "openai-compatible",
            ["GATEWAY__providers__extra__baseUrl"] = "http://127.0.0.1:10/v1",
        };
        const string text = "{\"providers\":{\"local\":{\"type\":\"openai-compatible\",\"baseUrl\":\"http://127.0.0.1:1/v1\"}}}";
        var result = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, text, "gw.json", env);
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Equal(4096, result.Config!.Server.MaxBodyBytes);
        Assert.Equal("http://127.0.0.1:9/v1", result.Config.Providers["local"].BaseUrl);
        Assert.Equal("http://127.0.0.1:10/v1", result.Config.Providers["extra"].BaseUrl);
    }

    [Fact]
    public void Load_MaxBodyEnvironmentVariable_WinsAndIsValidated()
    {
        var ok = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, "{\"server\":{\"maxBodyBytes\":100}}", "gw.json", new Dictionary<string, string> { ["GATEWAY_MAX_BODY_BYTES"] = "1048576" });
        Assert.Equal(1048576, ok.Config!.Server.MaxBodyBytes);
        var bad = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, null, "none", new Dictionary<string, string> { ["GATEWAY_MAX_BODY_BYTES"] = "lots" });
        Assert.Contains("GATEWAY_MAX_BODY_BYTES", Assert.Single(bad.Errors));
    }

    [Fact]
    public void Load_OpenAIEnvironment_RegistersProviderUnlessFileDeclaresOne()
    {
        var env = new Dictionary<string, string> { ["OPENAI_API_KEY"] = "sk-env", ["OPENAI_BASE_URL"] = "http://127.0.0.1:5/v1" };
        var fromEnv = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, null, "none", env).Config!.Providers["openai"];
        Assert.Equal(("sk-env", "http://127.0.0.1:5/v1", "environment"), (fromEnv.ApiKey, fromEnv.BaseUrl, fromEnv.Origin));

        var declared = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, "{\"providers\":{\"openai\":{\"type\":\"openai\",\"apiKey\":\"env:OPENAI_API_KEY\",\"baseUrl\":\"http://127.0.0.1:6/v1\"}}}", "gw.json", env);
        Assert.Equal("http://127.0.0.1:6/v1", declared.Config!.Providers["openai"].BaseUrl);
        Assert.Equal("sk-env", declared.Config.Providers["openai"].ApiKey);
    }

    [Fact]
    public void Load_AnthropicEnvironment_RegistersProvider()
    {
        var env = new Dictionary<string, string> { ["ANTHROPIC_API_KEY"] = "sk-ant", ["ANTHROPIC_BASE_URL"] = "http://127.0.0.1:7/anthropic" };
        var provider = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, null, "none", env).Config!.Providers["anthropic"];
        Assert.Equal(("anthropic", "sk-ant", "http://127.0.0.1:7/anthropic"), (provider.Type, provider.ApiKey, provider.BaseUrl));
        var missingKey = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, "{\"providers\":{\"claude\":{\"type\":\"anthropic\"}}}", "gw.json", new Dictionary<string, string>());
        Assert.Contains("providers.claude.apiKey: required", Assert.Single(missingKey.Errors));
    }

    [Fact]
    public void Load_Azure_NeedsEndpointTakesApiVersionAndRegistersFromTheSdkVariables()
    {
        var bad = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, """{"providers":{"az":{"type":"azure","apiKey":"k"},"oa":{"type":"openai","apiKey":"k","apiVersion":"x"}}}""", "gw.json", new Dictionary<string, string>());
        Assert.Contains(bad.Errors, e => e.StartsWith("providers.az.baseUrl: required", StringComparison.Ordinal));
        Assert.Contains(bad.Errors, e => e.StartsWith("providers.oa.apiVersion: only providers of type \"azure\" have this setting", StringComparison.Ordinal));

        var env = new Dictionary<string, string> { ["AZURE_OPENAI_API_KEY"] = "az-key", ["AZURE_OPENAI_ENDPOINT"] = "https://r.openai.azure.com", ["OPENAI_API_VERSION"] = "2025-01-01" };
        var azure = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, null, "none", env).Config!.Providers["azure"];
        Assert.Equal(("azure", "az-key", "https://r.openai.azure.com", "2025-01-01"), (azure.Type, azure.ApiKey, azure.BaseUrl, azure.ApiVersion));
    }

    [Fact]
    public void Load_Cache_ModelsInheritTheSectionsDefaults_AndAreFoundByRouteOrAlias()
    {
        var result = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, """
            {
              "providers": { "oa": { "type": "openai", "apiKey": "k" } },
              "models": { "fast": { "deployments": [ { "provider": "oa", "model": "gpt-4o-mini" } ] } },
              "cache": { "maxBytes": 10485760, "ttlSeconds": 30, "maxEntryBytes": 4096,
                         "models": { "fast": { "ttlSeconds": 5 }, "oa/gpt-4o": { "semantic": { "threshold": 0.9, "embedder": "local" } } } }
            }
            """, "gw.json", new Dictionary<string, string>());
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var cache = result.Config!.Cache;
        Assert.Equal((CacheConfig.MemoryStore, 10485760L), (cache.Store, cache.MaxBytes));
        Assert.Equal((TimeSpan.FromSeconds(5), 4096), (cache.Models["fast"].Ttl, cache.Models["fast"].MaxEntryBytes));
        Assert.Equal((TimeSpan.FromSeconds(30), 0.9, "local"), (cache.Models["oa/gpt-4o"].Ttl, cache.Models["oa/gpt-4o"].Semantic!.Threshold, cache.Models["oa/gpt-4o"].Semantic!.Embedder));
        Assert.Same(cache.Models["fast"], cache.For("fast", null));
        Assert.Same(cache.Models["fast"], cache.For("group-it-routed-to", "fast"));
        Assert.Null(cache.For("oa/gpt-4o-mini", null));
        Assert.False(ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, "{}", "gw.json", new Dictionary<string, string>()).Config!.Cache.Enabled);
        Assert.DoesNotContain(result.Warnings, w => w.StartsWith("cache", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"store":"disk"}""", "cache.store: \"memory\", \"database\", \"sqlite\" or \"redis\", not \"disk\"")]
    [InlineData("""{"models":{"nowhere":{}}}""", "cache.models.nowhere: name an alias")]
    [InlineData("""{"models":{"ghost/m":{}}}""", "cache.models.ghost/m: name an alias")]
    [InlineData("""{"models":{"*":{"ttlSeconds":0}}}""", "cache.models.*.ttlSeconds")]
    [InlineData("""{"models":{"*":{"semantic":{"threshold":1.5}}}}""", "cache.models.*.semantic.threshold")]
    [InlineData("""{"models":{"*":{"semantic":{"embedder":"ghost/e"}}}}""", "cache.models.*.semantic.embedder")]
    [InlineData("""{"models":{"*":{"ttl":5}}}""", "cache.models.*.ttl: unknown")]
    [InlineData("""{"maxBytes":10}""", "cache.maxBytes")]
    public void Load_Cache_MistakesAreNamed(string cache, string error)
    {
        var result = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, "{\"providers\":{\"oa\":{\"type\":\"openai\",\"apiKey\":\"k\"}},\"cache\":" + cache + "}", "gw.json", new Dictionary<string, string>());
        Assert.Contains(result.Errors, e => e.StartsWith(error, StringComparison.Ordinal));
    }

    [Fact]
    public void Load_ResponsesApi_IsABooleanOfTheTypesThatMayOrMayNotServeIt()
    {
        var catalog = Gateway.Providers.BuiltInProviders.Catalog;
        var good = ConfigLoader.LoadText(catalog, """{"providers":{"az":{"type":"azure","baseUrl":"https://r.openai.azure.com","apiKey":"k","responsesApi":false},"v":{"type":"openai-compatible","baseUrl":"http://127.0.0.1:8000/v1","responsesApi":true},"w":{"type":"openai-compatible","baseUrl":"http://127.0.0.1:8001/v1"}}}""", "gw.json", new Dictionary<string, string>());
        Assert.True(good.IsValid, string.Join("; ", good.Errors));
        Assert.Equal((false, true, (bool?)null), (good.Config!.Providers["az"].ResponsesApi, good.Config.Providers["v"].ResponsesApi, good.Config.Providers["w"].ResponsesApi));

        var bad = ConfigLoader.LoadText(catalog, """{"providers":{"v":{"type":"openai-compatible","baseUrl":"http://127.0.0.1:8000/v1","responsesApi":3},"oa":{"type":"openai","apiKey":"k","responsesApi":true}}}""", "gw.json", new Dictionary<string, string>());
        Assert.Contains(bad.Errors, e => e.StartsWith("providers.v.responsesApi: expected true or false", StringComparison.Ordinal));
        Assert.Contains(bad.Errors, e => e.StartsWith("providers.oa.responsesApi: only providers of type", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_Bedrock_NeedsRegionAndCredentialsAndRegistersFromAwsVariables()
    {
        var bad = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, """{"providers":{"aws":{"type":"bedrock"}}}""", "gw.json", new Dictionary<string, string>());
        Assert.Contains(bad.Errors, e => e.StartsWith("providers.aws.region: required", StringComparison.Ordinal));
        Assert.Contains(bad.Errors, e => e.StartsWith("providers.aws: Bedrock needs AWS credentials", StringComparison.Ordinal));

        var env = new Dictionary<string, string> { ["AWS_ACCESS_KEY_ID"] = "AKID", ["AWS_SECRET_ACCESS_KEY"] = "secret", ["AWS_SESSION_TOKEN"] = "tok", ["AWS_REGION"] = "eu-west-1" };
        var bedrock = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, null, "none", env).Config!.Providers["bedrock"];
        Assert.Equal(("bedrock", "eu-west-1", "AKID", "secret", "tok"), (bedrock.Type, bedrock.Region, bedrock.AccessKeyId, bedrock.SecretAccessKey, bedrock.SessionToken));
        Assert.DoesNotContain("secret", bedrock.ToString());
    }

    [Fact]
    public void Load_MockNameTakenByAnotherType_IsAnError()
    {
        var result = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, "{\"providers\":{\"mock\":{\"type\":\"openai-compatible\",\"baseUrl\":\"http://127.0.0.1:1/v1\"}}}", "gw.json", NoEnv);
        Assert.Contains("providers.mock: the name 'mock' is reserved", Assert.Single(result.Errors));
    }

    [Fact]
    public void Load_AliasesAndKeys_AreRead()
    {
        string hash = KeyHashing.Format(KeyHashing.Hash("team-key"));
        string text = $$"""
            {
              "models": {
                "fast": "mock/echo",
                "smart": { "deployments": [ { "provider": "mock", "model": "lorem", "weight": 3 } ] }
              },
              "keys": [ { "id": "team-a", "hash": "{{hash}}", "models": ["fast"] } ],
              "limits": {}
            }
            """;
        var result = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, text, "gw.json", new Dictionary<string, string> { ["GATEWAY_MASTER_KEY"] = "m" });
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var config = result.Config!;
        Assert.Equal(new DeploymentConfig("mock", "echo", 1), config.Models["fast"].Deployments[0]);
        Assert.Equal(3, config.Models["smart"].Deployments[0].Weight);
        Assert.Equal(["fast"], config.Keys[0].Models);
        Assert.NotNull(config.MasterKeyHash);
        Assert.Contains(result.Warnings, w => w.StartsWith("limits:", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_Policies_ResolvedFromTheConfigsDirectoryWithDefaults()
    {
        string dir = Directory.CreateTempSubdirectory("gw-config-").FullName;
        File.WriteAllText(Path.Combine(dir, "redact.js"), "export function onRequest(r) { return r; }");
        File.WriteAllText(Path.Combine(dir, "guard.js"), "export function onRequest(r) { return r; }");
        var result = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, """
            { "policies": [ { "file": "redact.js" },
                            { "file": "guard.js", "name": "inj", "mode": "fail-open", "models": ["openai/*"], "keys": ["team-a"], "limits": { "timeoutMs": 20 } } ] }
            """, "gw.json", NoEnv, dir);
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var (redact, guard) = (result.Config!.Policies[0], result.Config.Policies[1]);
        Assert.Equal(("redact", Path.Combine(dir, "redact.js"), false, "*", "*"), (redact.Name, redact.File, redact.FailOpen, redact.Models.Single(), redact.Keys.Single()));
        Assert.Equal(("inj", true, "openai/*", "team-a", 20), (guard.Name, guard.FailOpen, guard.Models.Single(), guard.Keys.Single(), guard.Limits.TimeoutMs));
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void Load_Groups_StrategyRetriesFallbacksAndPrices()
    {
        var result = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, """
            { "models": {
                "g":  { "strategy": "lowest-cost", "retries": 2, "fallbacks": ["fb"], "fallbackOn": ["context_length"],
                        "breaker": { "failures": 3, "coolDownMs": 1000, "failureRatio": 0.5, "minimumCalls": 10, "windowMs": 20000 }, "timeouts": { "connectMs": 200, "firstByteMs": 500, "idleMs": 700, "totalMs": 9000 }, "queue": { "maxLength": 5, "maxWaitMs": 200 },
                        "deployments": [ { "provider": "mock", "model": "echo", "weight": 3, "inputPrice": 0.15, "outputPrice": 0.6 } ] },
                "fb": { "deployments": [ { "provider": "mock", "model": "lorem" } ] } } }
            """, "gw.json", NoEnv);
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var g = result.Config!.Models["g"];
        Assert.Equal((RoutingStrategy.LowestCost, 2, "fb"), (g.Strategy, g.Retries, g.Fallbacks.Single()));
        Assert.Equal((0.15, 0.6), (g.Deployments[0].InputPrice, g.Deployments[0].OutputPrice));
        Assert.Equal(("context_length", 3, 1000.0, 500.0, 9000.0, 5, 200.0), (g.FallbackOn.Single(), g.Breaker.Failures, g.Breaker.CoolDown.TotalMilliseconds,
            g.FirstByteTimeout!.Value.TotalMilliseconds, g.Timeout!.Value.TotalMilliseconds, g.QueueLength, g.QueueWait.TotalMilliseconds));
        Assert.Equal((0.5, 10, 20000.0), (g.Breaker.FailureRatio, g.Breaker.MinimumCalls, g.Breaker.Window.TotalMilliseconds));
        Assert.Equal((200.0, 700.0), (g.ConnectTimeout!.Value.TotalMilliseconds, g.IdleTimeout!.Value.TotalMilliseconds));
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void Load_GroupErrors_AreReportedWithTheirPath()
    {
        var result = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, """
            { "models": {
                "a": { "strategy": "fastest", "deployments": [ { "provider": "mock", "model": "echo", "inputPrice": -1 } ] },
                "b": { "retries": 99, "fallbacks": ["b", "nope"], "fallbackOn": ["always"], "deployments": [ { "provider": "mock", "model": "echo" } ] },
                "c": { "breaker": { "failureRatio": 1.5 }, "timeouts": { "idleMs": 0 }, "deployments": [ { "provider": "mock", "model": "echo", "tpm": -5 } ] } } }
            """, "gw.json", NoEnv);
        Assert.False(result.IsValid);
        foreach (var path in new[] { "models.a.strategy", "models.a.deployments[0].inputPrice", "models.b.retries", "models.b.fallbacks[0]", "models.b.fallbacks[1]", "models.b.fallbackOn",
                     "models.c.breaker.failureRatio", "models.c.timeouts.idleMs", "models.c.deployments[0].tpm" })
            Assert.Contains(result.Errors, e => e.StartsWith(path, StringComparison.Ordinal));
    }

    [Fact]
    public void Load_PolicyErrors_AreReportedWithTheirPath()
    {
        string dir = Directory.CreateTempSubdirectory("gw-config-").FullName;
        File.WriteAllText(Path.Combine(dir, "a.js"), "");
        var result = ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, """
            { "policies": [ { "file": "missing.js" }, { "file": "a.js", "mode": "sometimes" }, { "file": "a.js" }, { "mode": "fail-open" }, { "file": "a.js", "name": "b", "limits": { "timeoutMs": 0 } } ] }
            """, "gw.json", NoEnv, dir);
        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.StartsWith("policies[0].file:", StringComparison.Ordinal) && e.Contains("does not exist", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.StartsWith("policies[1].mode:", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.StartsWith("policies[2].name:", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.StartsWith("policies[3].file: required", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.StartsWith("policies[4].limits.timeoutMs", StringComparison.Ordinal));
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void ProviderConfig_ToString_NeverShowsTheKey()
    {
        var config = new ProviderConfig { Name = "x", Type = "openai", ApiKey = "sk-very-secret" };
        Assert.DoesNotContain("sk-very-secret", config.ToString());
    }
}
