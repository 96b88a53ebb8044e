using System.Text;
using Gateway.Server.Hosting;

namespace Gateway.Server.FunctionalTests.Hosting;

public class DescriptorStreamTests
{
    [Fact]
    public void Writers_OfOneDescriptor_AppendAtItsSharedOffset_NeverOverEachOther()
    {
        // As standard output and standard error redirected to one file: two writers, one open file.
        string path = Path.Combine(Directory.CreateTempSubdirectory("gw-fd-").FullName, "both.log");
        using var handle = File.OpenHandle(path, FileMode.Create, FileAccess.Write);
        int fd = (int)handle.DangerousGetHandle();
        using var stdout = new DescriptorStream(fd);
        using var stderr = new DescriptorStream(fd);
        stdout.Write("one\n"u8);
        stderr.Write("two, the error\n"u8);
        stdout.Write(Encoding.UTF8.GetBytes(new string('x', 100_000) + "\n"));
        stderr.Write("three\n"u8);
        handle.Close();
        string[] lines = File.ReadAllLines(path);
        Assert.Equal(["one", "two, the error", new string('x', 100_000), "three"], lines);
    }

    [Fact]
    public void AClosedDescriptor_IsAnIOException_WhichTheBatcherDropsLinesOn()
    {
        using var stream = new DescriptorStream(-1);
        Assert.Throws<IOException>(() => stream.Write("lost\n"u8));
    }
}
