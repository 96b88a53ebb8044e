namespace Gateway.Core.Config;

/// <summary>The validated configuration: what gateway.json, the environment and the defaults say together.</summary>
public sealed record GatewayConfig
{
    public required ServerConfig Server { get; init; }
    public required IReadOnlyDictionary<string, ProviderConfig> Providers { get; init; }
    public required IReadOnlyDictionary<string, ModelGroupConfig> Models { get; init; }
    public required IReadOnlyList<KeyConfig> Keys { get; init; }
    public required StorageConfig Storage { get; init; }
    /// <summary>Policies in declared order: request hooks run first to last, response hooks last to first.</summary>
    public IReadOnlyList<PolicyConfig> Policies { get; init; } = [];
    /// <summary>Prices that override or add to the built-in list, keyed <c>provider/model</c> (the provider's name here) or by alias.</summary>
    public IReadOnlyDictionary<string, Pricing.ModelPrice> Pricing { get; init; } = new Dictionary<string, Pricing.ModelPrice>();
    /// <summary>The response cache; off unless it names models.</summary>
    public CacheConfig Cache { get; init; } = new();
    /// <summary>The hash of <c>GATEWAY_MASTER_KEY</c>, when set.</summary>
    public byte[]? MasterKeyHash { get; init; }
}

public sealed record ServerConfig
{
    public const long DefaultMaxBodyBytes = 20 * 1024 * 1024;
    public string Urls { get; init; } = "http://127.0.0.1:8080";
    public long MaxBodyBytes { get; init; } = DefaultMaxBodyBytes;
    /// <summary>One log line per request at Information level: key, dialect, model, deployment, status, tokens, timings (on by default, like a web server's access log).</summary>
    public bool LogRequests { get; init; } = true;
    /// <summary>When set, <c>/metrics</c> wants <c>Authorization: Bearer</c> this (or an admin key); open otherwise, as Prometheus expects.</summary>
    public string? MetricsKey { get; init; }
    /// <summary>Record and serve Prometheus metrics (on by default); off, <c>/metrics</c> answers 404 and nothing is recorded.</summary>
    public bool Metrics { get; init; } = true;
    /// <summary>Serve the web console at <c>/ui</c> (on by default); off, <c>/ui</c> answers 404. The console holds no data of its own: it calls the admin API.</summary>
    public bool Console { get; init; } = true;
    public const string TextLogs = "text", JsonLogs = "json";
    /// <summary><c>text</c>: one readable line per event; <c>json</c>: one JSON object per line, every message field a property (for log shippers). Read at start.</summary>
    public string LogFormat { get; init; } = TextLogs;
    /// <summary>Policy calls that may run at once, each on its own thread (0: one fewer than the cores, at least one).</summary>
    public int PolicyWorkers { get; init; }
    /// <summary>The longest a policy call waits for a worker before its request is refused as overloaded (503).</summary>
    public TimeSpan PolicyQueue { get; init; } = TimeSpan.FromSeconds(1);
}

public sealed record StorageConfig
{
    public string DataDir { get; init; } = "./data";
    /// <summary>Where the store lives: <c>sqlite:PATH</c> or a <c>postgres://</c> URL; null for <c>gateway.db</c> in <see cref="DataDir"/>.</summary>
    public string? Database { get; init; }
    /// <summary>
    /// The Redis replicas share (<c>redis://host:port</c>): limits, budget reservations, key revocations and
    /// directory changes are then counted and broadcast there (DESIGN §11); null for none (one node).
    /// </summary>
    public string? Redis { get; init; }
    /// <summary>How long request log rows are kept (daily usage stays); zero keeps them forever.</summary>
    public TimeSpan LogRetention { get; init; } = TimeSpan.FromDays(30);
    /// <summary>Keep request and answer bodies in the request log (after policies and PII redaction), each cut at <see cref="MaxLoggedBodyChars"/>.</summary>
    public bool LogBodies { get; init; }
    public const int MaxLoggedBodyChars = 64 * 1024;
}

public sealed record ProviderConfig
{
    public required string Name { get; init; }
    public required string Type { get; init; }
    public string? BaseUrl { get; init; }
    /// <summary>The resolved secret (an <c>env:NAME</c> reference already read). Never logged.</summary>
    public string? ApiKey { get; init; }
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();
    /// <summary>Azure OpenAI: the <c>api-version</c> query parameter.</summary>
    public string? ApiVersion { get; init; }
    /// <summary>
    /// Whether the provider serves OpenAI's Responses API, so <c>/v1/responses</c> passes through to it untouched;
    /// null for its type's default (<c>openai</c> and <c>azure</c> do, an <c>openai-compatible</c> server is taken to be chat only).
    /// </summary>
    public bool? ResponsesApi { get; init; }
    /// <summary>Bedrock: the AWS region, and the credentials that sign requests (SigV4). Never logged.</summary>
    public string? Region { get; init; }
    public string? AccessKeyId { get; init; }
    public string? SecretAccessKey { get; init; }
    public string? SessionToken { get; init; }
    /// <summary>Models listed by /v1/models; when empty the provider is asked (or its defaults used).</summary>
    public IReadOnlyList<string> Models { get; init; } = [];
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Until the response headers (non-stream) or the first stream bytes (stream).</summary>
    public TimeSpan FirstByteTimeout { get; init; } = TimeSpan.FromSeconds(300);
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(600);
    /// <summary>
    /// The longest silence between two reads of a stream once it started; zero (the default) for
    /// none, since a reasoning model may think for minutes between events: the total limit still applies.
    /// </summary>
    public TimeSpan IdleTimeout { get; init; }
    /// <summary>Mock provider: content chunks per streamed answer.</summary>
    public int Chunks { get; init; } = 4;
    /// <summary>Mock provider: pause before each streamed chunk.</summary>
    public TimeSpan ChunkDelay { get; init; } = TimeSpan.Zero;
    /// <summary>Where the provider came from, for diagnostics ("gateway.json", "environment", "built-in").</summary>
    public string Origin { get; init; } = "gateway.json";

    // Keep the secret out of logs and exception messages that print records.
    public override string ToString() => $"{Name} ({Type}, {BaseUrl ?? "default url"})";
}

/// <summary>An alias or group: where its requests can go, how one is picked, and what happens when one fails.</summary>
public sealed record ModelGroupConfig(string Name, IReadOnlyList<DeploymentConfig> Deployments)
{
    public const int MaxDeployments = 64;

    public RoutingStrategy Strategy { get; init; } = RoutingStrategy.Weighted;

    /// <summary>More attempts after the first on a retryable failure, within this group.</summary>
    public int Retries { get; init; }

    /// <summary>Other groups to try, in order, once this one has failed every attempt.</summary>
    public IReadOnlyList<string> Fallbacks { get; init; } = [];

    /// <summary>When a deployment's circuit breaker opens, and for how long.</summary>
    public BreakerConfig Breaker { get; init; } = BreakerConfig.Default;

    /// <summary>Until the first byte (a stream's first token), per attempt; the provider's setting when null.</summary>
    public TimeSpan? FirstByteTimeout { get; init; }

    /// <summary>For the whole answer, per attempt; the provider's setting when null.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>For a new connection to accept (TCP), per attempt; the provider's setting when null (it can only be shorter).</summary>
    public TimeSpan? ConnectTimeout { get; init; }

    /// <summary>The longest silence between two reads of a stream once it started; the provider's setting when null.</summary>
    public TimeSpan? IdleTimeout { get; init; }

    /// <summary>
    /// Failures that skip the group's retries and go straight to its fallbacks: a prompt too long
    /// for the model (<c>context_length</c>, to a larger-context group), a content-filter refusal
    /// (<c>content_filter</c>).
    /// </summary>
    public IReadOnlyList<string> FallbackOn { get; init; } = [];

    /// <summary>Requests that may wait for a slot on one full deployment; more are refused (low priority shed first).</summary>
    public int QueueLength { get; init; } = 100;

    /// <summary>The longest a request waits for a slot.</summary>
    public TimeSpan QueueWait { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// A group's circuit breaker: it opens a deployment after <see cref="Failures"/> consecutive
/// failures, or, when <see cref="FailureRatio"/> is set, once that share of the calls in the last
/// <see cref="Window"/> failed (with at least <see cref="MinimumCalls"/> calls, so three calls at
/// night do not decide); it stays open for <see cref="CoolDown"/>, then lets one probe through.
/// </summary>
public sealed record BreakerConfig
{
    public static readonly BreakerConfig Default = new();

    public int Failures { get; init; } = 5;
    public TimeSpan CoolDown { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>0 to 1; 0 turns the ratio off (consecutive failures only).</summary>
    public double FailureRatio { get; init; }
    public int MinimumCalls { get; init; } = 20;
    public TimeSpan Window { get; init; } = TimeSpan.FromSeconds(30);
}

/// <param name="Weight">Share of traffic under the weighted strategy.</param>
public sealed record DeploymentConfig(string Provider, string Model, int Weight)
{
    /// <summary>USD per million input tokens, for the lowest-cost strategy.</summary>
    public double InputPrice { get; init; }

    /// <summary>USD per million output tokens.</summary>
    public double OutputPrice { get; init; }

    /// <summary>Calls in flight at most (0: no limit); more wait in the group's queue by priority.</summary>
    public int MaxConcurrency { get; init; }

    /// <summary>Requests per minute at most (0: no limit), the provider's rate limit for this deployment.</summary>
    public int Rpm { get; init; }

    /// <summary>
    /// Tokens per minute at most (0: no limit), the provider's token rate limit. A request counts its
    /// prompt tokens plus the output it asks room for (<c>max_tokens</c>, else 256), the way OpenAI's
    /// own limiter reserves them.
    /// </summary>
    public int Tpm { get; init; }

    /// <summary>What the model can do; a request needing anything else skips it. Null: anything.</summary>
    public ModelCapabilities? Capabilities { get; init; }

    /// <summary>Tokens the model takes in and gives out together (0: not limited here).</summary>
    public int ContextWindow { get; init; }

    /// <summary>Free-form labels (region, hardware, ...), shown to policies.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>What this deployment may spend per period; once spent, routing skips it until the period turns. Null: no budget.</summary>
    public Governance.Budget? Budget { get; init; }
}

/// <summary>What a request may need of a model.</summary>
[Flags]
public enum ModelCapabilities
{
    None = 0,
    Tools = 1,
    Vision = 2,
    JsonSchema = 4,
}

/// <summary>How a group picks a deployment for each attempt.</summary>
public enum RoutingStrategy
{
    Weighted,
    RoundRobin,
    LeastBusy,
    LowestLatency,
    LowestCost,
}

public sealed record KeyConfig(string Id, byte[] Hash, IReadOnlyList<string> Models, bool Admin)
{
    /// <summary>0 low, 1 normal (default), 2 high: the key's requests' priority, and the most a request may ask for.</summary>
    public int Priority { get; init; } = 1;
    /// <summary>Requests and tokens per minute (0: no limit), counted like a stored key's.</summary>
    public Governance.RateLimits Limits { get; init; }
    /// <summary>What the key may spend; its spend is kept in the store under the key's id.</summary>
    public Governance.Budget? Budget { get; init; }

    public override string ToString() => $"key {Id}";
}

/// <summary>A policy file and what it binds to: models and gateway keys (by id), as glob patterns.</summary>
/// <param name="File">The full path of the .js file, or <c>builtin:NAME</c> for a policy the gateway ships.</param>
/// <param name="FailOpen">On a throw or a limit: skip the policy (true) or answer 5xx (false, the default).</param>
public sealed record PolicyConfig(string Name, string File, bool FailOpen, IReadOnlyList<string> Models, IReadOnlyList<string> Keys, PolicyLimitsConfig Limits)
{
    public const string BuiltinPrefix = "builtin:";
    public const string PiiRedaction = "pii-redaction";

    public bool IsBuiltin => File.StartsWith(BuiltinPrefix, StringComparison.Ordinal);

    /// <summary>For the built-in PII redaction: how (mask, hash, placeholder) and what (email, phone, ...; empty for all).</summary>
    public string RedactMode { get; init; } = "placeholder";

    /// <summary>Request headers the policy may read (<c>ctx.headers</c>), lower case; none by default.</summary>
    public IReadOnlyList<string> Headers { get; init; } = [];
    public IReadOnlyList<string> RedactKinds { get; init; } = [];
}

/// <summary>Per-policy overrides of the sandbox limits; null keeps the default.</summary>
public sealed record PolicyLimitsConfig
{
    public int? TimeoutMs { get; init; }
    public int? MaxStatements { get; init; }
    public long? MaxMemoryBytes { get; init; }
    public int? MaxRecursion { get; init; }
    public int? RegexTimeoutMs { get; init; }
}
