using System.Buffers;

namespace Gateway.Policies.Tests;

/// <summary>The output buffer a <see cref="PolicyRunner"/> call writes into, as the gateway's pooled body would be.</summary>
internal sealed class TestBuffer(int size) : IBufferWriter<byte>, IWrittenMemory, IDisposable
{
    private readonly ArrayBufferWriter<byte> _inner = new(Math.Max(size, 16));

    public ReadOnlyMemory<byte> WrittenMemory => _inner.WrittenMemory;

    public void Advance(int count) => _inner.Advance(count);

    public Memory<byte> GetMemory(int sizeHint = 0) => _inner.GetMemory(sizeHint);

    public Span<byte> GetSpan(int sizeHint = 0) => _inner.GetSpan(sizeHint);

    public void Dispose()
    {
    }
}
