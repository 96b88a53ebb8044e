using System.Text;
using Gateway.Core.Sse;

namespace Gateway.Core.Tests.Sse;

public class SseFrameScannerTests
{
    [Theory]
    [InlineData("data: a\n\n")]
    [InlineData("data: a\r\n\r\n")]
    [InlineData("event: x\ndata: a\n\n")]
    [InlineData("event: x\r\ndata: a\r\n\r\n")]
    public void FindFrameEnd_CompleteFrame_ReturnsWholeLength(string frame)
    {
        var bytes = Encoding.UTF8.GetBytes(frame);
        Assert.Equal(bytes.Length, SseFrameScanner.FindFrameEnd(bytes));
    }

    [Theory]
    [InlineData("data: a\n\n")]
    [InlineData("data: a\r\n\r\n")]
    [InlineData("event: x\r\ndata: a\r\n\r\n")]
    public void FindFrameEnd_EveryProperPrefix_NeedsMore(string frame)
    {
        var bytes = Encoding.UTF8.GetBytes(frame);
        for (int i = 0; i < bytes.Length; i++)
            Assert.Equal(-1, SseFrameScanner.FindFrameEnd(bytes.AsSpan(0, i)));
    }

    [Fact]
    public void FindFrameEnd_CrAtEndOfData_WaitsForPossibleLf()
    {
        Assert.Equal(-1, SseFrameScanner.FindFrameEnd("data: a\r\n\r"u8));
        Assert.Equal(11, SseFrameScanner.FindFrameEnd("data: a\r\n\r"u8.ToArray().Concat("\n"u8.ToArray()).ToArray()));
        Assert.Equal(10, SseFrameScanner.FindFrameEnd("data: a\r\n\r"u8, isFinal: true));
    }

    [Fact]
    public void FindFrameEnd_BareCarriageReturns_EndAFrameOnceTheNextByteIsSeen()
    {
        Assert.Equal(9, SseFrameScanner.FindFrameEnd("data: a\r\rdata: b"u8));
    }

    [Fact]
    public void FindFrameEnd_TwoFrames_ReturnsFirstOnly()
    {
        var bytes = "data: one\n\ndata: two\n\n"u8;
        Assert.Equal(11, SseFrameScanner.FindFrameEnd(bytes));
        Assert.Equal(11, SseFrameScanner.FindFrameEnd(bytes[11..]));
    }

    [Fact]
    public void FindFrameEnd_LineFeedInsideFrameOnly_NeedsMore()
    {
        Assert.Equal(-1, SseFrameScanner.FindFrameEnd("data: a\ndata: b\n"u8));
    }
}
