using System.Collections;
using System.Text.Json;

namespace Gateway.Server.FunctionalTests.Deploy;

/// <summary>
/// The Helm chart (rendered by <see cref="ChartRenderer"/>: Helm is not served here) and docker-compose.yml: every
/// manifest parses, names what the others name, probes the gateway's real health routes, and runs the replicas
/// on the shared stores.
/// </summary>
public sealed class DeploymentFilesTests
{
    private static readonly string Root = FindRoot();
    private static readonly string Chart = Path.Combine(Root, "deploy", "helm", "gateway");

    private static string FindRoot()
    {
        string dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "Gateway.sln"))) dir = Path.GetDirectoryName(dir)!;
        return dir;
    }

    private static Dictionary<object, object?> WithSecrets(Dictionary<object, object?> values)
    {
        var secrets = (Dictionary<object, object?>)values["secrets"]!;
        secrets["databaseUrl"] = "postgres://gw:pw@db:5432/gateway";
        secrets["redisUrl"] = "redis://redis:6379";
        secrets["masterKey"] = "gw-master";
        secrets["secretKey"] = "c2VjcmV0";
        secrets["providerKeys"] = new Dictionary<object, object?> { ["OPENAI_API_KEY"] = "sk-test" };
        return values;
    }

    /// <summary>Every rendered manifest, by kind.</summary>
    private static Dictionary<string, Dictionary<object, object?>> Manifests(ChartRenderer chart)
    {
        var byKind = new Dictionary<string, Dictionary<object, object?>>();
        foreach (var (file, text) in chart.RenderAll())
        {
            if (text.Length == 0) continue;
            var manifest = ChartRenderer.Yaml<Dictionary<object, object?>>(text);
            Assert.True(manifest.ContainsKey("apiVersion") && manifest.ContainsKey("kind") && manifest.ContainsKey("metadata"), $"{file} is not a Kubernetes object:\n{text}");
            byKind[(string)manifest["kind"]!] = manifest;
        }
        return byKind;
    }

    private static object? At(object? node, string path)
    {
        foreach (var part in path.Split('.'))
            node = node switch
            {
                IDictionary map => map.Contains(part) ? map[part] : null,
                IList list when int.TryParse(part, out int i) => i < list.Count ? list[i] : null,
                _ => null,
            };
        return node;
    }

    [Fact]
    public void TheChart_RendersADeploymentOnTheSharedStores_WithProbesResourcesSecretsServiceAndAutoscaler()
    {
        var objects = Manifests(new ChartRenderer(Chart, "prod", WithSecrets));
        Assert.Equal(["ConfigMap"], new[] { "Deployment", "Service", "HorizontalPodAutoscaler", "Secret", "PodDisruptionBudget", "ConfigMap" }.Where(k => !objects.ContainsKey(k)));

        var deployment = objects["Deployment"];
        Assert.Equal("prod-gateway", At(deployment, "metadata.name"));
        Assert.Null(At(deployment, "spec.replicas")); // the autoscaler owns the count
        var container = At(deployment, "spec.template.spec.containers.0");
        Assert.Equal("ai-gateway:0.1.0", At(container, "image"));
        Assert.Equal(("/health", "/ready"), (At(container, "livenessProbe.httpGet.path"), At(container, "readinessProbe.httpGet.path")));
        Assert.Equal(("2", "512Mi"), (At(container, "resources.limits.cpu"), At(container, "resources.limits.memory")));
        Assert.Equal("prod-gateway", At(container, "envFrom.0.secretRef.name"));
        Assert.Equal("true", At(container, "securityContext.readOnlyRootFilesystem"));
        Assert.Equal(["/app/data", "/tmp"], ((IList)At(container, "volumeMounts")!).Cast<object>().Select(m => At(m, "mountPath")));
        // The Service and the budget select the pods the Deployment makes.
        var podLabels = (IDictionary)At(deployment, "spec.template.metadata.labels")!;
        foreach (var selector in new[] { At(objects["Service"], "spec.selector"), At(objects["PodDisruptionBudget"], "spec.selector.matchLabels") })
            foreach (DictionaryEntry label in (IDictionary)selector!) Assert.Equal(label.Value, podLabels[label.Key]);
        Assert.Equal(("Deployment", "prod-gateway", "3", "12"), (At(objects["HorizontalPodAutoscaler"], "spec.scaleTargetRef.kind"),
            At(objects["HorizontalPodAutoscaler"], "spec.scaleTargetRef.name"), At(objects["HorizontalPodAutoscaler"], "spec.minReplicas"),
            At(objects["HorizontalPodAutoscaler"], "spec.maxReplicas")));
        var secret = (IDictionary)At(objects["Secret"], "stringData")!;
        Assert.Equal(("postgres://gw:pw@db:5432/gateway", "redis://redis:6379", "sk-test"),
            (secret["GATEWAY_DATABASE_URL"], secret["GATEWAY_REDIS_URL"], secret["OPENAI_API_KEY"]));
    }

    [Fact]
    public void TheChart_WithoutStoreUrls_RefusesToRender_AndWithAnExistingSecretMakesNone()
    {
        var missing = Assert.Throws<InvalidOperationException>(() => new ChartRenderer(Chart, "prod").RenderAll());
        Assert.Contains("secrets.databaseUrl", missing.Message, StringComparison.Ordinal);

        var objects = Manifests(new ChartRenderer(Chart, "prod", values =>
        {
            ((Dictionary<object, object?>)values["secrets"]!)["existingSecret"] = "gateway-credentials";
            ((Dictionary<object, object?>)values["autoscaling"]!)["enabled"] = "false";
            return values;
        }));
        Assert.False(objects.ContainsKey("Secret"));
        Assert.False(objects.ContainsKey("HorizontalPodAutoscaler"));
        Assert.Equal("3", At(objects["Deployment"], "spec.replicas"));
        Assert.Equal("gateway-credentials", At(objects["Deployment"], "spec.template.spec.containers.0.envFrom.0.secretRef.name"));
    }

    [Fact]
    public void TheChart_MountsAConfig_AsValidGatewayJson()
    {
        var objects = Manifests(new ChartRenderer(Chart, "prod", values =>
        {
            values["config"] = new Dictionary<object, object?> { ["cache"] = new Dictionary<object, object?> { ["store"] = "redis", ["maxBytes"] = "1048576" } };
            return WithSecrets(values);
        }));
        using var json = JsonDocument.Parse((string)((IDictionary)At(objects["ConfigMap"], "data")!)["gateway.json"]!);
        Assert.Equal(("redis", 1048576), (json.RootElement.GetProperty("cache").GetProperty("store").GetString(), json.RootElement.GetProperty("cache").GetProperty("maxBytes").GetInt32()));
        var container = At(objects["Deployment"], "spec.template.spec.containers.0");
        Assert.Contains(((IList)At(container, "env")!).Cast<object>(), e => (string?)At(e, "name") == "GATEWAY_CONFIG" && (string?)At(e, "value") == "/etc/gateway/gateway.json");
        // The config loads as the gateway reads it.
        var load = Gateway.Core.Config.ConfigLoader.LoadText(Gateway.Providers.BuiltInProviders.Catalog, json.RootElement.GetRawText(), "gateway.json", new Dictionary<string, string>());
        Assert.True(load.IsValid, string.Join("; ", load.Errors));
    }

    [Fact]
    public void Compose_RunsThreeReplicasOnPostgresAndRedis_BehindNginx()
    {
        var compose = ChartRenderer.Yaml<Dictionary<object, object?>>(File.ReadAllText(Path.Combine(Root, "docker-compose.yml")));
        var services = (IDictionary)compose["services"]!;
        var gateways = services.Keys.Cast<string>().Where(k => k.StartsWith("gateway-", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, gateways.Count);
        foreach (var name in gateways)
        {
            var env = (IDictionary)At(services[name], "environment")!;
            Assert.StartsWith("postgres://", (string)env["GATEWAY_DATABASE_URL"]!, StringComparison.Ordinal);
            Assert.Equal("redis://redis:6379", env["GATEWAY_REDIS_URL"]);
            Assert.Equal(("service_healthy", "service_healthy"), (At(services[name], "depends_on.postgres.condition"), At(services[name], "depends_on.redis.condition")));
        }
        Assert.NotNull(At(services["postgres"], "healthcheck.test"));
        Assert.NotNull(At(services["redis"], "healthcheck.test"));
        string nginx = File.ReadAllText(Path.Combine(Root, "deploy", "compose", "nginx.conf"));
        foreach (var name in gateways) Assert.Contains($"server {name}:8080", nginx, StringComparison.Ordinal);
    }
}
