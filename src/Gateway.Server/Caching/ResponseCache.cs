using System.Text.Json;
using Gateway.Core;
using Gateway.Core.Auth;
using Gateway.Core.Caching;
using Gateway.Core.Json;
using Gateway.Core.Sse;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Caching;

/// <summary>
/// The response cache as the pipeline uses it (DESIGN §10): whether a request is cacheable and under
/// what key, the lookup, and the store of a complete answer. Entries are scoped to the tenant (or the
/// key, without one): nobody is ever served another tenant's answer. A store that fails (a shared one
/// unreachable) costs the request its hit or its entry, never its answer.
/// </summary>
internal sealed partial class ResponseCache(IResponseCacheStore store, SemanticIndex index, Func<string, IPromptEmbedder> embedders, TimeProvider time,
    ILogger<ResponseCache> logger)
{
    public IResponseCacheStore Store => store;

    public SemanticIndex Index => index;

    private long _embedderWarnedAt = long.MinValue;

    /// <summary>The request's ticket, or null when its model is not cached.</summary>
    /// <param name="routed">The model as routed: a group's name, or <c>provider/model</c>.</param>
    /// <param name="asked">The model as the client named it (an alias may be configured under that name).</param>
    /// <param name="sent">What goes to the provider: the key is made of it.</param>
    /// <param name="native">It goes in the client's own dialect to a provider that speaks it.</param>
    public CacheTicket? Begin(GatewaySnapshot snapshot, HttpRequest http, GatewayKey key, string dialect, RequestKind kind, string routed, string? asked,
        ReadOnlySpan<byte> sent, bool native, bool stream)
    {
        var config = snapshot.Config.Cache;
        if (!config.Enabled || config.For(routed, asked) is not { } settings) return null;
        var decision = Decide(http.Headers.CacheControl);
        string scope = key.Governance.Tenant is { Length: > 0 } tenant ? "t:" + tenant : "k:" + key.Id;
        var form = native ? (stream ? CachedForm.EventStream : CachedForm.Json) : kind == RequestKind.Embeddings ? CachedForm.Json : CachedForm.Completion;
        if (decision == CacheDecision.Bypass) return new CacheTicket(decision, default, scope, routed, settings, form);
        // A canonical answer serves every dialect and both forms; a dialect's own, only the same again.
        string formName = native ? $"{dialect}:{(stream ? "sse" : "json")}" : form == CachedForm.Completion ? "completion" : "json";
        JsonDocument document;
        try
        {
            document = CacheKey.Parse(sent);
        }
        catch (JsonException)
        {
            return null; // validated before; a body too deep to normalise is simply not cached
        }
        // One parse for the exact key, and with a semantic cache the prompt and its bucket's key.
        using (document)
        {
            var cacheKey = CacheKey.Of(scope, routed, formName, document.RootElement);
            // The semantic cache compares canonical chat prompts: a dialect's own request passed through is the exact cache's alone.
            if (settings.Semantic is { } semantic && form == CachedForm.Completion && SemanticPrompt.Read(document.RootElement) is { } prompt)
                return new CacheTicket(decision, cacheKey, scope, routed, settings, form, prompt,
                    CacheKey.Of(scope, routed, "semantic:" + semantic.Embedder, document.RootElement, withoutLastMessage: true));
            return new CacheTicket(decision, cacheKey, scope, routed, settings, form);
        }
    }

    /// <summary><c>no-store</c> bypasses, <c>no-cache</c> refreshes; anything else reads.</summary>
    internal static CacheDecision Decide(Microsoft.Extensions.Primitives.StringValues cacheControl)
    {
        var decision = CacheDecision.Lookup;
        foreach (var value in cacheControl)
        {
            if (value is null) continue;
            foreach (var range in value.AsSpan().Split(','))
            {
                var directive = value.AsSpan()[range].Trim();
                if (directive.Equals("no-store", StringComparison.OrdinalIgnoreCase)) return CacheDecision.Bypass;
                if (directive.Equals("no-cache", StringComparison.OrdinalIgnoreCase)) decision = CacheDecision.Refresh;
            }
        }
        return decision;
    }

    /// <summary>
    /// The stored answer for the ticket: the exact entry, else (with a semantic cache) the entry of the closest
    /// prompt in its bucket at least the threshold alike, with its similarity; null on a miss, a refresh, or a
    /// store that fails. The prompt's embedding is made on the way (a refresh too), for the answer to be stored with.
    /// </summary>
    public async ValueTask<(CachedAnswer Answer, double? Similarity)?> FindAsync(CacheTicket ticket, CancellationToken cancellationToken)
    {
        if (ticket.Decision == CacheDecision.Bypass) return null;
        try
        {
            long now = time.GetUtcNow().ToUnixTimeMilliseconds();
            if (ticket.Reads && await store.GetAsync(ticket.Key, now, cancellationToken).ConfigureAwait(false) is { } exact) return (exact, null);
            if (ticket.Prompt is null || ticket.Settings.Semantic is not { } semantic || await EmbedAsync(ticket, semantic, cancellationToken).ConfigureAwait(false) is not { } vector)
                return null;
            if (!ticket.Reads || index.Find(ticket.Bucket, vector, semantic.Threshold, now) is not { } match) return null;
            if (await store.GetAsync(match.Entry, now, cancellationToken).ConfigureAwait(false) is { } similar) return (similar, match.Similarity);
            index.Remove(ticket.Bucket, match.Entry); // its answer expired or was evicted
            return null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.StoreFailed(logger, "read", ex.Message);
            return null;
        }
    }

    private async ValueTask<float[]?> EmbedAsync(CacheTicket ticket, Gateway.Core.Config.SemanticCacheConfig semantic, CancellationToken cancellationToken)
    {
        var embedder = embedders(semantic.Embedder);
        try
        {
            var vector = await embedder.EmbedAsync(ticket.Prompt!, cancellationToken).ConfigureAwait(false);
            if (!SemanticPrompt.Normalize(vector)) throw new EmbedderException($"the embedder '{embedder.Name}' gave a vector of no length");
            return ticket.Vector = vector;
        }
        catch (EmbedderException ex)
        {
            // Once a minute at most: a missing embedder would otherwise log on every request.
            long now = time.GetTimestamp(), last = Interlocked.Read(ref _embedderWarnedAt);
            if ((last == long.MinValue || time.GetElapsedTime(last, now) >= TimeSpan.FromMinutes(1)) && Interlocked.CompareExchange(ref _embedderWarnedAt, now, last) == last)
                Log.EmbedderFailed(logger, embedder.Name, ex.Message);
            return null;
        }
    }

    /// <summary>Removes the entries (and their prompts' vectors) of a scope and a model (null: any).</summary>
    public async ValueTask<long> PurgeAsync(string? scope, string? model, CancellationToken cancellationToken)
    {
        index.Purge(scope, model);
        return await store.PurgeAsync(scope, model, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>How long ago the answer was stored, in whole seconds (HTTP's <c>Age</c>).</summary>
    public long AgeSeconds(CachedAnswer hit) => Math.Max(0, (time.GetUtcNow().ToUnixTimeMilliseconds() - hit.Stored) / 1000);

    /// <summary>Keeps a complete, successful answer for the ticket's time to live (when it fits its bound).</summary>
    public void Keep(CacheTicket ticket, ReadOnlySpan<byte> body, string contentType, TokenUsage usage)
    {
        if (!ticket.Writes || body.IsEmpty || body.Length > ticket.Settings.MaxEntryBytes) return;
        long now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var entry = new CachedAnswer(ticket.Key, ticket.Scope, ticket.Model, ticket.Form, contentType, body.ToArray(), now, now + (long)ticket.Settings.Ttl.TotalMilliseconds, usage);
        if (ticket.Vector is { } vector) index.Add(ticket.Bucket, ticket.Scope, ticket.Model, vector, ticket.Key, entry.Expires);
        var pending = store.SetAsync(entry, CancellationToken.None);
        if (pending.IsCompletedSuccessfully) return;
        _ = AwaitStoreAsync(pending);
    }

    private async Task AwaitStoreAsync(ValueTask pending)
    {
        try
        {
            await pending.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.StoreFailed(logger, "write", ex.Message);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1802, Level = LogLevel.Warning, Message = "The semantic cache's embedder {Embedder} failed: {Reason}; until it answers, the exact cache alone serves (logged once a minute)")]
        public static partial void EmbedderFailed(ILogger logger, string embedder, string reason);

        [LoggerMessage(EventId = 1801, Level = LogLevel.Warning, Message = "Response cache store failed to {Operation}: {Reason}; the request goes on without the cache")]
        public static partial void StoreFailed(ILogger logger, string operation, string reason);
    }
}
