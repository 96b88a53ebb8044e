using System.Globalization;
using Gateway.Core;
using Gateway.Core.Errors;
using Gateway.Core.Governance;
using Gateway.Core.Routing;
using Gateway.Core.Sse;

namespace Gateway.Server.Governance;

/// <summary>What admission needs around the <see cref="Governor"/>: a request's worst-case cost, the rate headers, the refusals.</summary>
internal static class GovernanceCosts
{
    /// <summary>
    /// The most the request can cost: its prompt estimate and the output it may produce, at the price of
    /// the dearest deployment it may reach (its group's and its fallbacks'), so a failover never spends
    /// past what was reserved. Nothing for a model with no known price.
    /// </summary>
    public static long WorstCase(GatewaySnapshot snapshot, in ModelRoute route, string? model, int prompt, int output)
    {
        var usage = new TokenUsage(prompt, output, prompt + output, 0, 0);
        if (route.Group is not { } group)
        {
            string name = route.Provider.Name;
            string id = model is not null && model.Length > name.Length + 1 && model.StartsWith(name, StringComparison.Ordinal) && model[name.Length] == '/'
                ? model[(name.Length + 1)..] : model ?? "";
            return snapshot.Pricing.Find(name, route.Provider.Config.Type, id, null)?.CostNanos(usage) ?? 0;
        }
        long worst = Dearest(snapshot, group, usage);
        foreach (var fallback in group.Config.Fallbacks)
            if (snapshot.Groups.TryGetValue(fallback, out var next)) worst = Math.Max(worst, Dearest(snapshot, next, usage));
        return worst;
    }

    private static long Dearest(GatewaySnapshot snapshot, DeploymentGroup group, in TokenUsage usage)
    {
        long worst = 0;
        foreach (var deployment in group.Deployments)
        {
            var provider = deployment.Target.Provider;
            if (snapshot.Pricing.Find(provider.Name, provider.Config.Type, deployment.Target.Model, group.Name) is { } price)
                worst = Math.Max(worst, price.CostNanos(usage));
        }
        return worst;
    }

    /// <summary>
    /// What an ended request really used, to settle its reservation: nothing when no call went out; its
    /// tokens and cost when the provider counted them (no price: no cost); unknown (null: the reservation
    /// stands as spent) when a call went out and ended without a count, such as a client gone mid-stream
    /// or a stream cut, for which the provider may still bill.
    /// </summary>
    public static (long? Tokens, long? CostNanos) Settlement(in Pipeline.RequestRecord record)
    {
        if (record.Attempts == 0 || record.Provider is null) return (0, 0);
        if (record.Usage is { } usage) return (usage.TotalTokens > 0 ? usage.TotalTokens : (long)usage.PromptTokens + usage.CompletionTokens, record.CostNanos ?? 0);
        // A provider's own refusal (an error status it answered with) is not billed.
        if (record.Outcome == Pipeline.RequestOutcome.ProviderError && record.ErrorCode is null or "upstream_unreachable") return (0, 0);
        if (record.Outcome is Pipeline.RequestOutcome.Answered && record.Status >= 400) return (0, 0);
        return (null, null);
    }

    /// <summary>OpenAI's <c>x-ratelimit-{limit,remaining,reset}-{requests,tokens}</c> for the tightest limits that apply.</summary>
    public static List<KeyValuePair<string, string>> RateHeaders(in Admission admission)
    {
        var headers = new List<KeyValuePair<string, string>>(6);
        if (admission.LimitRequests >= 0)
        {
            headers.Add(new("x-ratelimit-limit-requests", admission.LimitRequests.ToString(CultureInfo.InvariantCulture)));
            headers.Add(new("x-ratelimit-remaining-requests", admission.RemainingRequests.ToString(CultureInfo.InvariantCulture)));
            headers.Add(new("x-ratelimit-reset-requests", Duration(admission.ResetRequestsMs)));
        }
        if (admission.LimitTokens >= 0)
        {
            headers.Add(new("x-ratelimit-limit-tokens", admission.LimitTokens.ToString(CultureInfo.InvariantCulture)));
            headers.Add(new("x-ratelimit-remaining-tokens", admission.RemainingTokens.ToString(CultureInfo.InvariantCulture)));
            headers.Add(new("x-ratelimit-reset-tokens", Duration(admission.ResetTokensMs)));
        }
        return headers;
    }

    /// <summary>A duration as OpenAI writes it (Go's form): <c>250ms</c>, <c>12.5s</c>, <c>1m0s</c>.</summary>
    public static string Duration(long ms)
    {
        if (ms < 1000) return ms.ToString(CultureInfo.InvariantCulture) + "ms";
        if (ms < 60_000) return (ms / 1000.0).ToString("0.###", CultureInfo.InvariantCulture) + "s";
        return (ms / 60_000).ToString(CultureInfo.InvariantCulture) + "m" + (ms % 60_000 / 1000.0).ToString("0.###", CultureInfo.InvariantCulture) + "s";
    }

    public static GatewayError Refusal(in Admission admission, long tokens, List<KeyValuePair<string, string>> headers)
    {
        var by = admission.By!;
        string who = $"{by.Scope} '{by.Id}'";
        if (admission.Result == AdmissionResult.Unavailable)
            return new GatewayError(503, "service_unavailable", "budget_unavailable",
                $"The budget of {who} is counted in the shared store (Redis), which this replica cannot reach right now; requests under a budget are refused "
                + "until it is back, so that no replica can spend past it. Try again shortly.", ErrorSource.Gateway) { Headers = [new("retry-after", "1")] };
        if (admission.Result == AdmissionResult.OverBudget)
        {
            var budget = by.Budget!;
            string period = Budget.Name(budget.Period) is { } p ? $"per {p} (UTC)" : "in all";
            return new GatewayError(402, "insufficient_quota", "budget_exceeded",
                $"Budget exceeded: {who} may spend {budget.Usd.ToString(CultureInfo.InvariantCulture)} USD {period}, and this request's worst case "
                + "(its prompt and max_tokens at the model's price) does not fit in what is left. Lower max_tokens, or ask for a larger budget.", ErrorSource.Client);
        }
        bool byTokens = admission.ByTokens;
        long resetMs = byTokens ? admission.ResetTokensMs : admission.ResetRequestsMs;
        if (resetMs < 0) resetMs = Math.Max(admission.ResetRequestsMs, admission.ResetTokensMs);
        headers.Add(new("retry-after", Math.Max(1, (resetMs + 999) / 1000).ToString(CultureInfo.InvariantCulture)));
        headers.Add(new("retry-after-ms", Math.Max(0, resetMs).ToString(CultureInfo.InvariantCulture)));
        string message = admission.Result == AdmissionResult.TooLarge
            ? $"Request too large: it may use {tokens} tokens (prompt and max_tokens), more than {who} may use in a minute ({by.Limits.Tpm} tpm). Lower max_tokens or shorten the prompt."
            : byTokens
                ? $"Rate limit reached for {who}: {by.Limits.Tpm} tokens per minute. Try again in {Duration(Math.Max(0, resetMs))}."
                : $"Rate limit reached for {who}: {by.Limits.Rpm} requests per minute. Try again in {Duration(Math.Max(0, resetMs))}.";
        return new GatewayError(429, byTokens ? "tokens" : "requests", "rate_limit_exceeded", message, ErrorSource.Client) { Headers = headers };
    }
}
