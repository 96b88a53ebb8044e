using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using Gateway.Core.Errors;
using Gateway.Core.Protocol;
using Gateway.Core.Sse;
using Gateway.Policies;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Http;

/// <summary>
/// One policy's <c>onChunk</c> on a streamed answer, chunk by chunk. The content a policy asked to
/// hold back is put in front of the next chunk's content, so a secret split over two chunks reaches
/// the policy whole; at the finish nothing is held. Streams no <c>onChunk</c> binds to never get here.
/// </summary>
internal sealed class PolicyChunkStage(PolicySlot slot, CompiledPolicy policy, PolicyContext context, PolicyRunner runner, ILogger logger) : ChunkTransform.Asynchronous
{
    private readonly ArrayBufferWriter<byte> _json = new(1024);
    private string _pending = "";

    protected override ValueTask OnChunkAsync(ChatCompletionChunk chunk, IBufferWriter<byte> output) =>
        ProcessAsync(chunk, final: chunk.Choices.Count > 0 && chunk.Choices[0].FinishReason is not null, output);

    /// <summary>What a policy held back goes through it once more, as the last content, with nothing held.</summary>
    protected override ValueTask OnDoneAsync(IBufferWriter<byte> output) =>
        _pending.Length > 0 && Last is not null ? ProcessAsync(ContentChunk(""), final: true, output) : default;

    private async ValueTask ProcessAsync(ChatCompletionChunk chunk, bool final, IBufferWriter<byte> output)
    {
        var delta = chunk.Choices.Count > 0 ? chunk.Choices[0].Delta : null;
        if (delta is not null && (_pending.Length > 0 || delta.Content is not null))
        {
            delta.Content = _pending + delta.Content;
            _pending = "";
        }
        _json.ResetWrittenCount();
        using (var w = new Utf8JsonWriter(_json)) JsonSerializer.Serialize(w, chunk, ProtocolJson.Default.ChatCompletionChunk);

        long started = Stopwatch.GetTimestamp();
        // The chunk's JSON is read before the call can be given up on, so _json is ours again once this returns.
        var (outcome, changed) = await runner.CallAsync(policy, PolicyHooks.OnChunk, _json.WrittenMemory, context, Rent).ConfigureAwait(false);
        slot.Meter.Record(Stopwatch.GetTimestamp() - started, outcome);
        using (changed)
        {
            switch (outcome.Kind)
            {
                case PolicyOutcomeKind.Unchanged:
                    break;
                case PolicyOutcomeKind.Changed:
                    if (JsonSerializer.Deserialize(changed!.Span, ProtocolJson.Default.ChatCompletionChunk) is not { } rewritten)
                    {
                        Failure = RequestPolicies.Failed(slot.Name, "onChunk returned something that is not a chunk");
                        return;
                    }
                    chunk = rewritten;
                    delta = chunk.Choices.Count > 0 ? chunk.Choices[0].Delta : null;
                    if (!final && outcome.Hold > 0 && delta?.Content is { Length: > 0 } content)
                    {
                        int hold = Math.Min(outcome.Hold, content.Length);
                        _pending = content[^hold..];
                        delta.Content = content[..^hold];
                    }
                    break;
                case PolicyOutcomeKind.Reject:
                    Failure = new GatewayError(outcome.Status, outcome.Status >= 500 ? "server_error" : "invalid_request_error", "policy_rejected",
                        outcome.Message!, outcome.Status >= 500 ? ErrorSource.Gateway : ErrorSource.Client);
                    return;
                case PolicyOutcomeKind.Unreadable or PolicyOutcomeKind.Busy:
                    Failure = RequestPolicies.Refused(outcome, RequestPolicies.Subject.Answer);
                    return;
                default:
                    string reason = outcome.Kind == PolicyOutcomeKind.Respond ? "respond is for onRequest" : outcome.Message ?? "failed";
                    if (policy.Mode == PolicyMode.FailOpen)
                    {
                        RequestPolicies.LogFailedOpen(logger, slot.Name, reason);
                        break;
                    }
                    Failure = RequestPolicies.Failed(slot.Name, reason);
                    return;
            }
        }
        Write(chunk, output);
    }

    private static readonly Func<int, PooledBody> Rent = size => new PooledBody(size);
}

/// <summary>The transforms a streamed answer goes through for its request's policies, or none.</summary>
internal static class PolicyStreams
{
    /// <summary>
    /// The stages a streamed answer goes through for its request's policies: each <c>onChunk</c>, the
    /// last declared first (answers unwind the request's order), then the placeholder restorer; none
    /// when nothing applies (the stream stays zero-copy).
    /// </summary>
    public static void AddStages(List<IStreamTranslator> stages, RequestIntake.BoundPolicies? bound, ILogger logger)
    {
        if (bound is null) return;
        foreach (var (slot, policy) in bound.Chain.WithHook(PolicyHooks.OnChunk).Reverse())
            stages.Add(new PolicyChunkStage(slot, policy, bound.Context, bound.Chain.Runner!, logger));
        if (bound.Context.HasPlaceholders) stages.Add(new PlaceholderRestorer(bound.Context.Vault));
    }
}
