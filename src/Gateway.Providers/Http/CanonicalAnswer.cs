using Gateway.Core.Errors;
using Gateway.Core.Protocol;

namespace Gateway.Providers.Http;

/// <summary>
/// What every translator of a canonical answer into a dialect's form does alike: read the
/// <c>chat.completion</c>, refuse one with no choice, and turn a document of the wrong shape into the
/// provider's fault (502), never an unhandled exception.
/// </summary>
internal static class CanonicalAnswer
{
    /// <param name="write">Writes the dialect's answer from the completion and its first choice; an error when it cannot.</param>
    public static GatewayError? Translate<TState>(ReadOnlyMemory<byte> body, TState state, Func<ChatCompletion, ChatChoice, TState, GatewayError?> write)
    {
        try
        {
            var completion = ProtocolReader.ReadCompletion(body.Span);
            if (completion is null)
                return new GatewayError(502, "upstream_error", "upstream_invalid_response", "The provider's answer is not a chat completion.", ErrorSource.Upstream);
            if (completion.Choices.Count == 0)
                return new GatewayError(502, "upstream_error", "upstream_invalid_response", "The provider's answer has no choices.", ErrorSource.Upstream);
            return write(completion, completion.Choices[0], state);
        }
        catch (Exception ex) when (JsonShape.IsMismatch(ex))
        {
            return JsonShape.InvalidAnswer(ex);
        }
    }
}
