using System.Diagnostics;
using Gateway.Core.Providers;
using Gateway.Server.Pipeline;
using Microsoft.AspNetCore.Http;

namespace Gateway.Server.Observability;

/// <summary>
/// Spans per OpenTelemetry's GenAI conventions: one per model request (server) and one per upstream
/// attempt (client), under the client's W3C <c>traceparent</c> when it sent one. With no exporter
/// configured nothing listens and no span is made, except that a client's trace still reaches the
/// provider: its <c>traceparent</c> continues through a bare activity.
/// </summary>
internal static class GatewayTracing
{
    public const string SourceName = "Gateway";
    public static readonly ActivitySource Source = new(SourceName, typeof(GatewayTracing).Assembly.GetName().Version?.ToString());

    /// <summary>The request's span, made current; null when nothing traces and the client sent no trace.</summary>
    public static Activity? StartRequest(HttpContext context)
    {
        var headers = context.Request.Headers;
        var traceparent = headers["traceparent"];
        bool hasParent = false;
        ActivityContext parent = default;
        if (traceparent.Count == 1 && traceparent[0] is { Length: 55 } header)
            hasParent = ActivityContext.TryParse(header, headers["tracestate"].Count == 1 ? headers["tracestate"][0] : null, isRemote: true, out parent);
        if (Source.HasListeners())
            return Source.StartActivity("gateway.request", ActivityKind.Server, parent);
        if (!hasParent) return null;
        var bare = new Activity("gateway.request");
        bare.SetParentId(parent.TraceId, parent.SpanId, parent.TraceFlags);
        if (parent.TraceState is { } state) bare.TraceStateString = state;
        return bare.Start();
    }

    /// <summary>
    /// Names and tags the request's span from its record, then ends it. Every sampled request pays for
    /// each tag twice (kept on the span, then serialized by the exporter), so the span carries what a
    /// trace query needs and nothing the span's name or its attempt spans already say: a tag that only
    /// restates the usual case (one attempt, answered) is left off, and names and boxed numbers are reused.
    /// </summary>
    public static void EndRequest(Activity activity, in RequestRecord record, string? providerType)
    {
        if (activity.IsAllDataRequested)
        {
            bool embeddings = record.Dialect == "embeddings";
            string operation = embeddings ? "embeddings" : "chat";
            activity.DisplayName = record.Model is { } model ? SpanNames.Of(model, embeddings) : operation;
            activity.SetTag("gen_ai.operation.name", operation);
            if (providerType is not null) activity.SetTag("gen_ai.provider.name", providerType);
            if (record.Model is not null) activity.SetTag("gen_ai.request.model", record.Model);
            if (record.ProviderModel is not null) activity.SetTag("gen_ai.response.model", record.ProviderModel);
            if (record.Usage is { } usage)
            {
                activity.SetTag("gen_ai.usage.input_tokens", Boxes.Of(usage.PromptTokens));
                activity.SetTag("gen_ai.usage.output_tokens", Boxes.Of(usage.CompletionTokens));
            }
            activity.SetTag("http.response.status_code", Boxes.Of(record.Status));
            activity.SetTag("gateway.request_id", record.RequestId);
            if (record.KeyId is not null) activity.SetTag("gateway.key", record.KeyId);
            if (record.Provider is not null) activity.SetTag("gateway.provider", record.Provider);
            if (record.Attempts != 1) activity.SetTag("gateway.attempts", Boxes.Of(record.Attempts));
            if (record.Fallback is not null) activity.SetTag("gateway.fallback", record.Fallback);
            if (record.Outcome != RequestOutcome.Answered) activity.SetTag("gateway.outcome", OutcomeNames[(int)record.Outcome]);
            if (record.CostNanos is { } cost) activity.SetTag("gateway.cost_usd", cost / 1e9);
            if (record.TimeToFirstToken is { } ttft) activity.SetTag("gen_ai.server.time_to_first_token", ttft.TotalSeconds);
            if (record.Status >= 500 || record.Outcome is RequestOutcome.ProviderError or RequestOutcome.Timeout or RequestOutcome.GatewayError)
            {
                activity.SetStatus(ActivityStatusCode.Error, record.ErrorCode);
                activity.SetTag("error.type", record.ErrorCode ?? record.Status.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }
        activity.Stop();
    }

    private static readonly string[] OutcomeNames = Enum.GetNames<RequestOutcome>();

    /// <summary>One upstream attempt's span (current while the call goes out, so the provider gets its traceparent); null when nothing traces.</summary>
    public static Activity? StartAttempt(IProvider provider, ReadOnlyMemory<byte> model, ProviderOperation operation)
    {
        if (!Source.HasListeners() || Activity.Current is null) return null;
        bool embeddings = operation == ProviderOperation.Embeddings;
        string name = SpanNames.Model(model.Span);
        var activity = Source.StartActivity(SpanNames.Of(name, embeddings), ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            var tags = ProviderTags.Of(provider);
            activity.SetTag("gen_ai.operation.name", embeddings ? "embeddings" : "chat");
            activity.SetTag("gen_ai.provider.name", tags.Type);
            activity.SetTag("gen_ai.request.model", name);
            activity.SetTag("gateway.provider", tags.Name);
            if (tags.Address is not null)
            {
                activity.SetTag("server.address", tags.Address);
                activity.SetTag("server.port", tags.Port);
            }
        }
        return activity;
    }

    /// <summary>Ends an attempt's span with what came back: a status, or the error that ended it.</summary>
    public static void EndAttempt(Activity? activity, in UpstreamResult result)
    {
        if (activity is null) return;
        if (result.Response is { } response) activity.SetTag("http.response.status_code", Boxes.Of(response.Status));
        if (result.Error is { } error)
        {
            activity.SetStatus(ActivityStatusCode.Error, error.Message);
            activity.SetTag("error.type", error.Code);
        }
        else if (result.Response is { Status: >= 500 })
            activity.SetStatus(ActivityStatusCode.Error);
        activity.Stop();
    }

    /// <summary>A provider's span attributes, worked out once per provider instance (its URL is not parsed per call).</summary>
    private sealed class ProviderTags
    {
        private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IProvider, ProviderTags> Cache = new();

        public required string Type { get; init; }
        public required string Name { get; init; }
        public string? Address { get; init; }
        public object? Port { get; init; }

        public static ProviderTags Of(IProvider provider) => Cache.GetValue(provider, static p =>
        {
            Uri? uri = p.Config.BaseUrl is { } url && Uri.TryCreate(url, UriKind.Absolute, out var parsed) ? parsed : null;
            return new ProviderTags { Type = p.Config.Type, Name = p.Name, Address = uri?.Host, Port = uri?.Port };
        });
    }

    /// <summary>
    /// Span names (<c>chat gpt-4o</c>) and model strings, made once per model and reused: a bounded cache,
    /// since model names come from clients (past the bound they are made per span, as before).
    /// </summary>
    internal static class SpanNames
    {
        private const int MaxEntries = 4096;
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, (string Chat, string Embeddings)> Names = new(StringComparer.Ordinal);
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, (string Chat, string Embeddings)>.AlternateLookup<ReadOnlySpan<char>> BySpan =
            Names.GetAlternateLookup<ReadOnlySpan<char>>();

        public static string Of(string model, bool embeddings)
        {
            if (!Names.TryGetValue(model, out var names))
            {
                names = ($"chat {model}", $"embeddings {model}");
                if (Names.Count < MaxEntries) Names.TryAdd(model, names);
            }
            return embeddings ? names.Embeddings : names.Chat;
        }

        /// <summary>The model's name as a string: the cached one when this model was seen before.</summary>
        public static string Model(ReadOnlySpan<byte> utf8)
        {
            if (utf8.Length <= 256)
            {
                Span<char> chars = stackalloc char[256];
                if (System.Text.Encoding.UTF8.TryGetChars(utf8, chars, out int written) && BySpan.TryGetValue(chars[..written], out string? known, out _))
                    return known;
            }
            return System.Text.Encoding.UTF8.GetString(utf8);
        }
    }

    /// <summary>Boxed small numbers (statuses, token counts, attempts), shared so tagging a span does not allocate for them.</summary>
    internal static class Boxes
    {
        private static readonly object[] Small = Enumerable.Range(0, 4096).Select(i => (object)i).ToArray();

        public static object Of(int value) => (uint)value < (uint)Small.Length ? Small[value] : value;
    }
}
