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

    /// <summary>
    /// Nothing held back: the policy is shown the chunk's JSON as it came, and a chunk it leaves as it is
    /// goes out as the same frame (no reading into the canonical type, no writing back). Content held
    /// back goes in front of this chunk's: only then is the chunk read and written for the policy.
    /// </summary>
    protected override ValueTask OnPayloadAsync(ReadOnlyMemory<byte> payload, ReadOnlyMemory<byte> frame, IBufferWriter<byte> output)
    {
        if (_pending.Length > 0)
        {
            var chunk = Read(payload.Span);
            if (chunk.Choices.Count > 0 && chunk.Choices[0].Delta is { } delta)
            {
                delta.Content = _pending + delta.Content;
                _pending = "";
                return ProcessAsync(Serialize(chunk), default, final: false, output);
            }
        }
        return ProcessAsync(payload, frame, final: false, output);
    }

    /// <summary>What a policy held back goes through it once more, as the last content, with nothing held.</summary>
    protected override ValueTask OnDoneAsync(IBufferWriter<byte> output)
    {
        if (_pending.Length == 0) return default;
        var held = ContentChunk(_pending);
        _pending = "";
        return ProcessAsync(Serialize(held), default, final: true, output);
    }

    private ReadOnlyMemory<byte> Serialize(ChatCompletionChunk chunk)
    {
        _json.ResetWrittenCount();
        using (var w = new Utf8JsonWriter(_json)) JsonSerializer.Serialize(w, chunk, ProtocolJson.Default.ChatCompletionChunk);
        return _json.WrittenMemory;
    }

    /// <param name="json">The chunk the policy is shown: read before the call can be given up on, so it is ours again once the call returns.</param>
    /// <param name="frame">The frame to pass on when the policy leaves the chunk as it is; empty when <paramref name="json"/> was written here.</param>
    /// <param name="final">Nothing may be held back (the stream's end).</param>
    private async ValueTask ProcessAsync(ReadOnlyMemory<byte> json, ReadOnlyMemory<byte> frame, bool final, IBufferWriter<byte> output)
    {
        long started = Stopwatch.GetTimestamp();
        var (outcome, changed) = await runner.CallAsync(policy, PolicyHooks.OnChunk, json, context, Rent).ConfigureAwait(false);
        slot.Meter.Record(Stopwatch.GetTimestamp() - started, outcome);
        using (changed)
        {
            switch (outcome.Kind)
            {
                case PolicyOutcomeKind.Unchanged:
                    break;
                case PolicyOutcomeKind.Changed:
                    ChatCompletionChunk rewritten;
                    try
                    {
                        rewritten = Read(changed!.Span);
                    }
                    catch (JsonException)
                    {
                        Failure = RequestPolicies.Failed(slot.Name, "onChunk returned something that is not a chunk");
                        return;
                    }
                    var choice = rewritten.Choices.Count > 0 ? rewritten.Choices[0] : null;
                    if (!final && choice?.FinishReason is null && outcome.Hold > 0 && choice?.Delta?.Content is { Length: > 0 } content)
                    {
                        int hold = Math.Min(outcome.Hold, content.Length);
                        _pending = content[^hold..];
                        choice.Delta.Content = content[..^hold];
                        // What is held goes out later as a chunk of its own, with this one's id, created and model.
                        Last = rewritten;
                    }
                    Write(rewritten, output);
                    return;
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
        // As it came: the frame itself, or the chunk written here for the policy.
        if (!frame.IsEmpty) output.Write(frame.Span);
        else WriteJson(json.Span, output);
    }

    private static void WriteJson(ReadOnlySpan<byte> json, IBufferWriter<byte> output)
    {
        output.Write("data: "u8);
        output.Write(json);
        output.Write("\n\n"u8);
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
