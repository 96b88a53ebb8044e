namespace Gateway.Policies;

/// <summary>What a hook's <c>ctx</c> holds about the request: who sent it, for what, and what the operator chose to show.</summary>
public sealed record PolicyContext(string Model, string? KeyId = null, string? Tenant = null)
{
    /// <summary>What the request asks for: a chat completion (also on <c>/v1/messages</c>) or embeddings.</summary>
    public PolicyOperation Operation { get; init; } = PolicyOperation.Chat;

    /// <summary>Request metadata and the headers the operator allowed, by name.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = EmptyMetadata;

    /// <summary>Request headers by lower-case name; each policy sees only those its binding allows.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = EmptyMetadata;

    /// <summary>The deployments the requested model can go to (an alias's, or the one <c>provider/model</c> names).</summary>
    public IReadOnlyList<PolicyCandidate> Candidates
    {
        get => _candidates ??= _findCandidates?.Invoke() ?? [];
        init => _candidates = value;
    }

    /// <summary>Finds <see cref="Candidates"/> when a hook first reads them: most hooks never do.</summary>
    public Func<IReadOnlyList<PolicyCandidate>>? FindCandidates { init => _findCandidates = value; }

    private IReadOnlyList<PolicyCandidate>? _candidates;
    private readonly Func<IReadOnlyList<PolicyCandidate>>? _findCandidates;

    private static readonly Dictionary<string, string> EmptyMetadata = [];
    private Pii.PiiVault? _vault;

    /// <summary>This request's placeholders (PII redaction in placeholder mode), restored in its answer.</summary>
    public Pii.PiiVault Vault => LazyInitializer.EnsureInitialized(ref _vault);

    /// <summary>Whether any placeholder was handed out, i.e. whether the answer needs restoring.</summary>
    public bool HasPlaceholders => _vault is { Count: > 0 };
}

/// <summary>What a request asks for, as <c>ctx.operation</c> names it.</summary>
public enum PolicyOperation
{
    /// <summary><c>'chat'</c>: <c>/v1/chat/completions</c> and <c>/v1/messages</c>; <c>req.messages</c> holds the conversation.</summary>
    Chat,

    /// <summary><c>'embeddings'</c>: <c>/v1/embeddings</c>; <c>req.input</c> holds the text (a string or an array).</summary>
    Embeddings,
}

/// <summary>A deployment a request could be routed to, with what the gateway knows of it.</summary>
/// <param name="InputPrice">USD per million input tokens (0 when not configured); likewise <paramref name="OutputPrice"/>.</param>
/// <param name="LatencyMs">Recent time to the first byte (a moving average); 0 before the first answer.</param>
/// <param name="Open">Its circuit breaker is open: the gateway is keeping traffic away from it.</param>
public sealed record PolicyCandidate(string Provider, string Model, int Weight, double InputPrice = 0, double OutputPrice = 0, double LatencyMs = 0, bool Open = false)
{
    /// <summary>The deployment's labels from the config (region, hardware, ...).</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];
}
