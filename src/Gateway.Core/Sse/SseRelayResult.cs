namespace Gateway.Core.Sse;

public readonly record struct SseRelayResult(SseRelayStatus Status, TokenUsage? Usage, int FramesForwarded, Exception? Error);
