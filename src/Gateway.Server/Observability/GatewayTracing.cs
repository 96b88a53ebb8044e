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

    /// <summary>Names and tags the request's span from its record, then ends it.</summary>
    public static void EndRequest(Activity activity, in RequestRecord record, string? providerType)
    {
        if (activity.IsAllDataRequested)
        {
            string operation = record.Dialect == "embeddings" ? "embeddings" : "chat";
            activity.DisplayName = record.Model is { } model ? $"{operation} {model}" : operation;
            activity.SetTag("gen_ai.operation.name", operation);
            if (providerType is not null) activity.SetTag("gen_ai.provider.name", providerType);
            if (record.Model is not null) activity.SetTag("gen_ai.request.model", record.Model);
            if (record.ProviderModel is not null) activity.SetTag("gen_ai.response.model", record.ProviderModel);
            if (record.Usage is { } usage)
            {
                activity.SetTag("gen_ai.usage.input_tokens", usage.PromptTokens);
                activity.SetTag("gen_ai.usage.output_tokens", usage.CompletionTokens);
            }
            activity.SetTag("http.request.method", record.Method);
            activity.SetTag("url.path", record.Path);
            activity.SetTag("http.response.status_code", record.Status);
            activity.SetTag("gateway.request_id", record.RequestId);
            activity.SetTag("gateway.dialect", record.Dialect);
            if (record.KeyId is not null) activity.SetTag("gateway.key", record.KeyId);
            if (record.Provider is not null) activity.SetTag("gateway.deployment", record.Provider + "/" + record.ProviderModel);
            activity.SetTag("gateway.attempts", record.Attempts);
            if (record.Fallback is not null) activity.SetTag("gateway.fallback", record.Fallback);
            activity.SetTag("gateway.outcome", record.Outcome.ToString());
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

    /// <summary>One upstream attempt's span (current while the call goes out, so the provider gets its traceparent); null when nothing traces.</summary>
    public static Activity? StartAttempt(IProvider provider, ReadOnlyMemory<byte> model, ProviderOperation operation)
    {
        if (!Source.HasListeners() || Activity.Current is null) return null;
        string name = System.Text.Encoding.UTF8.GetString(model.Span);
        string op = operation == ProviderOperation.Embeddings ? "embeddings" : "chat";
        var activity = Source.StartActivity($"{op} {name}", ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("gen_ai.operation.name", op);
            activity.SetTag("gen_ai.provider.name", provider.Config.Type);
            activity.SetTag("gen_ai.request.model", name);
            activity.SetTag("gateway.provider", provider.Name);
            if (provider.Config.BaseUrl is { } url && Uri.TryCreate(url, UriKind.Absolute, out var uri))
            {
                activity.SetTag("server.address", uri.Host);
                activity.SetTag("server.port", uri.Port);
            }
        }
        return activity;
    }

    /// <summary>Ends an attempt's span with what came back: a status, or the error that ended it.</summary>
    public static void EndAttempt(Activity? activity, in UpstreamResult result)
    {
        if (activity is null) return;
        if (result.Response is { } response) activity.SetTag("http.response.status_code", response.Status);
        if (result.Error is { } error)
        {
            activity.SetStatus(ActivityStatusCode.Error, error.Message);
            activity.SetTag("error.type", error.Code);
        }
        else if (result.Response is { Status: >= 500 })
            activity.SetStatus(ActivityStatusCode.Error);
        activity.Stop();
    }
}
