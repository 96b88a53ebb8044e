using System.Text.Json;
using Gateway.Core.Routing;
using Gateway.Policies;

namespace Gateway.Server.Admin;

internal sealed partial class AdminApi
{
    /// <summary>
    /// <c>GET /admin/v1/deployments</c>: the providers this gateway serves, and every model group with its
    /// deployments' live health (breaker, in-flight calls, queue, recent latency, budget). Read from
    /// memory, never the store. (A <c>provider/model</c> called directly has no routing state to show.)
    /// </summary>
    private byte[] Deployments()
    {
        var snapshot = snapshots.Current;
        long nowTicks = time.GetTimestamp(), nowMs = Now();
        return Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "deployments");
            w.WriteStartArray("providers");
            foreach (var (name, provider) in snapshot.Providers.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                w.WriteStartObject();
                w.WriteString("name", name);
                w.WriteString("type", provider.Config.Type);
                w.WriteBoolean("stored", providers.Current.ContainsKey(name));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("groups");
            foreach (var (name, group) in snapshot.Groups.OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                w.WriteStartObject();
                w.WriteString("name", name);
                w.WriteString("strategy", JsonNamingPolicy.KebabCaseLower.ConvertName(group.Config.Strategy.ToString()));
                w.WriteStartArray("deployments");
                foreach (var d in group.Deployments)
                {
                    w.WriteStartObject();
                    w.WriteString("name", d.Name);
                    w.WriteString("provider", d.Config.Provider);
                    w.WriteString("model", d.Config.Model);
                    w.WriteNumber("weight", d.Config.Weight);
                    w.WriteNumber("maxConcurrency", d.Config.MaxConcurrency);
                    w.WriteBoolean("overBudget", d.IsOverBudget(nowMs));
                    WriteHealth(w, d.State, nowTicks);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private void WriteHealth(Utf8JsonWriter w, DeploymentState state, long nowTicks)
    {
        bool open = state.IsOpen;
        w.WriteString("breaker", open ? "open" : "closed");
        if (open && state.OpenUntil > nowTicks) w.WriteNumber("breakerOpensInMs", Math.Round(time.GetElapsedTime(nowTicks, state.OpenUntil).TotalMilliseconds));
        w.WriteNumber("consecutiveFailures", state.ConsecutiveFailures);
        w.WriteNumber("inFlight", state.InFlight);
        w.WriteNumber("queued", state.Queued);
        var latency = state.Latency;
        if (latency > TimeSpan.Zero) w.WriteNumber("latencyMs", Math.Round(latency.TotalMilliseconds, 1));
        else w.WriteNull("latencyMs");
    }

    /// <summary><c>GET /admin/v1/policies</c>: each configured policy, what it binds, the version serving, and its meter since the start.</summary>
    private byte[] Policies()
    {
        var slots = policies?.Current.Slots ?? [];
        return Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            foreach (var slot in slots)
            {
                var config = slot.Config;
                var current = slot.Current;
                var meter = slot.Meter;
                long calls = meter.Calls;
                w.WriteStartObject();
                w.WriteString("name", slot.Name);
                w.WriteString("file", config.File);
                w.WriteNumber("version", current.Version);
                w.WriteStartArray("hooks");
                foreach (var hook in Enum.GetValues<PolicyHooks>())
                    if (hook != PolicyHooks.None && (current.Hooks & hook) != 0) w.WriteStringValue(JsonNamingPolicy.CamelCase.ConvertName(hook.ToString()));
                w.WriteEndArray();
                w.WriteBoolean("failOpen", config.FailOpen);
                Strings(w, "models", config.Models);
                Strings(w, "keys", config.Keys);
                w.WriteNumber("calls", calls);
                w.WriteNumber("failures", meter.Failures);
                w.WriteNumber("limitHits", meter.LimitHits);
                w.WriteNumber("averageUs", calls == 0 ? 0 : Math.Round(meter.Time.TotalMicroseconds / calls, 1));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static void Strings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var value in values) w.WriteStringValue(value);
        w.WriteEndArray();
    }
}
