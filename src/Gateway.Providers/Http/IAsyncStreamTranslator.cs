using System.Buffers;

namespace Gateway.Providers.Http;

/// <summary>
/// A translator whose work on a frame may wait (a policy's <c>onChunk</c> runs on a policy worker):
/// <see cref="TranslatingStream"/> hands it each frame as memory it owns until the call completes.
/// </summary>
public interface IAsyncStreamTranslator : IStreamTranslator
{
    ValueTask OnFrameAsync(ReadOnlyMemory<byte> frame, IBufferWriter<byte> output);
}
