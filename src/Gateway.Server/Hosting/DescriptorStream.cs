using System.Runtime.InteropServices;

namespace Gateway.Server.Hosting;

/// <summary>
/// A file descriptor the process inherited (standard output), written with write(2): at the descriptor's
/// own offset, which it shares with standard error when both go to one file (<c>serve &gt;log 2&gt;&amp;1</c>).
/// A <see cref="FileStream"/> over a file keeps an offset of its own and writes with pwrite, so its lines and
/// standard error's overwrote each other; <see cref="Console.OpenStandardOutput()"/> writes under a lock on
/// <see cref="Console.Out"/> (see <see cref="BatchedStdout.OpenStandardOutput"/>). The runtime's own native
/// shim does the call (linked into the native binary; beside the runtime under the JIT), retrying an
/// interrupted write.
/// </summary>
internal sealed class DescriptorStream(int descriptor) : Stream
{
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <exception cref="IOException">The descriptor refused the bytes (closed, a reader gone).</exception>
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            int written = SystemNative_Write(descriptor, ref MemoryMarshal.GetReference(buffer), buffer.Length);
            if (written <= 0) throw new IOException($"write to descriptor {descriptor} failed (errno {Marshal.GetLastPInvokeError()})");
            buffer = buffer[written..];
        }
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    // DllImport, not LibraryImport: its arguments are blittable, so no generated marshalling (nor unsafe code) is needed.
#pragma warning disable SYSLIB1054
    [DllImport("libSystem.Native", SetLastError = true)]
    private static extern int SystemNative_Write(nint fd, ref byte buffer, int bufferSize);
#pragma warning restore SYSLIB1054
}
