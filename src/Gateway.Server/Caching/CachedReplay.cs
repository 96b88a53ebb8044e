using System.Buffers;
using Gateway.Core.Protocol;

namespace Gateway.Server.Caching;

/// <summary>A cached canonical answer as the stream a client that streams gets: the chunks that make it, usage included, then <c>[DONE]</c>.</summary>
internal static class CachedReplay
{
    public static byte[] Chunks(byte[] completionJson)
    {
        var completion = ProtocolReader.ReadCompletion(completionJson)
            ?? throw new InvalidOperationException("a cached completion that is not one: the cache stores only answers it read");
        var output = new ArrayBufferWriter<byte>(completionJson.Length + 512);
        CompletionChunks.Write(completion, includeUsage: true, output);
        return output.WrittenSpan.ToArray();
    }
}
