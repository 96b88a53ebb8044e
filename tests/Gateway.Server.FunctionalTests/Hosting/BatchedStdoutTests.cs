using System.Text;
using Gateway.Server.Hosting;

namespace Gateway.Server.FunctionalTests.Hosting;

public class BatchedStdoutTests
{
    /// <summary>Records each write the batcher makes, as the process's standard output would receive it.</summary>
    private sealed class RecordingStream : Stream
    {
        private readonly Lock _gate = new();
        public List<byte[]> Writes { get; } = [];

        public string Text
        {
            get
            {
                lock (_gate) return string.Concat(Writes.Select(w => Encoding.UTF8.GetString(w)));
            }
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            lock (_gate) Writes.Add(buffer.AsSpan(offset, count).ToArray());
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    [Fact]
    public void Lines_WaitAtMostTheDelay_ThenLeaveTogetherInOneWrite()
    {
        var stream = new RecordingStream();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        using var writer = new BatchedStdout(stream, time);
        writer.WriteLine("one");
        time.Advance(BatchedStdout.Delay / 2);
        writer.WriteLine("two é");
        Assert.Empty(stream.Writes); // kept for the others that may follow
        time.Advance(BatchedStdout.Delay / 2); // the first line's wait is over: both go
        Assert.Equal(["one\ntwo é\n".Replace("\n", Environment.NewLine, StringComparison.Ordinal)], stream.Writes.Select(w => Encoding.UTF8.GetString(w)));
    }

    [Fact]
    public void ManyLines_GoInWritesOfAtMost4KB_EachEndingAtALineEnd()
    {
        var stream = new RecordingStream();
        var expected = new StringBuilder();
        using (var writer = new BatchedStdout(stream))
        {
            for (int i = 0; i < 300; i++)
            {
                string line = $"line {i} " + new string('x', i % 97);
                writer.WriteLine(line);
                expected.Append(line).Append(Environment.NewLine);
            }
            string longLine = new('y', 9000);
            writer.WriteLine(longLine);
            expected.Append(longLine).Append(Environment.NewLine);
        }
        Assert.Equal(expected.ToString(), stream.Text);
        Assert.True(stream.Writes.Count > 1);
        // Every write ends a line; only the one line longer than 4 KB is written in a write of its own size.
        Assert.All(stream.Writes, w => Assert.Equal((byte)'\n', w[^1]));
        Assert.All(stream.Writes.Where(w => w.Length > 4096), w => Assert.Equal(9000 + Environment.NewLine.Length, w.Length));
    }

    [Fact]
    public void Dispose_WritesWhatWaits()
    {
        var stream = new RecordingStream();
        var writer = new BatchedStdout(stream);
        writer.Write("last words");
        writer.Dispose();
        Assert.Equal("last words", stream.Text);
    }

    [Fact]
    public void AWriteAfterDispose_IsWrittenAtOnce()
    {
        var stream = new RecordingStream();
        var writer = new BatchedStdout(stream);
        writer.Dispose();
        writer.WriteLine("late line");
        Assert.Equal("late line" + Environment.NewLine, stream.Text);
    }

    [Fact]
    public async Task ALongLineWithoutItsEnd_IsStillWrittenByTheTimer()
    {
        var stream = new RecordingStream();
        using var writer = new BatchedStdout(stream);
        string partial = new('z', 5000); // past the 4 KB mark, with no line end yet
        writer.Write(partial);
        for (int i = 0; i < 200 && stream.Writes.Count == 0; i++) await Task.Delay(10);
        Assert.Equal(partial, stream.Text);
    }

    [Fact]
    public async Task Installed_ManyWritersWhileTheTimerFlushes_NeverDeadlock()
    {
        // As gateway serve wires it: Console.Out becomes the batcher behind .NET's synchronized wrapper,
        // and loggers write lines from many threads while the timer flushes. Writing through the console's
        // own stream here deadlocked (its writes lock Console.Out, the wrapper a logger holds).
        var done = Task.CompletedTask;
        using (BatchedStdout.Install())
        {
            var writers = Enumerable.Range(0, 8).Select(_ => Task.Factory.StartNew(() =>
            {
                var until = DateTime.UtcNow + TimeSpan.FromSeconds(1);
                while (DateTime.UtcNow < until)
                {
                    Console.Out.WriteLine();
                    Thread.SpinWait(2000);
                }
            }, TaskCreationOptions.LongRunning)).ToArray();
            done = Task.WhenAll(writers);
            var finished = await Task.WhenAny(done, Task.Delay(TimeSpan.FromSeconds(30)));
            Assert.True(finished == done, "writers to the installed standard output did not finish: deadlocked");
        }
        await done;
    }
}
