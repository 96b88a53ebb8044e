using System.Text;
using Gateway.Core.Sse;

namespace Gateway.Core.Tests.Sse;

public class OpenAiFrameInspectorTests
{
    [Fact]
    public void Inspect_Done_IsDone()
    {
        Assert.Equal(OpenAiFrameKind.Done, OpenAiFrameInspector.Inspect("data: [DONE]\n\n"u8, out _));
        Assert.Equal(OpenAiFrameKind.Done, OpenAiFrameInspector.Inspect("data:[DONE]\r\n\r\n"u8, out _));
    }

    [Fact]
    public void Inspect_ChunkWithNullUsage_IsOther()
    {
        var frame = "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\n"u8;
        Assert.Equal(OpenAiFrameKind.Other, OpenAiFrameInspector.Inspect(frame, out _));
    }

    [Fact]
    public void Inspect_UsageChunk_ReadsEveryCount()
    {
        var frame = Encoding.UTF8.GetBytes("data: {\"id\":\"x\",\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":7,\"total_tokens\":18," +
            "\"prompt_tokens_details\":{\"cached_tokens\":3},\"completion_tokens_details\":{\"reasoning_tokens\":2}}}\n\n");
        Assert.Equal(OpenAiFrameKind.UsageOnly, OpenAiFrameInspector.Inspect(frame, out var usage));
        Assert.Equal(new TokenUsage(11, 7, 18, 3, 2), usage);
    }

    [Fact]
    public void Inspect_UsageOnAContentChunk_IsChunkWithUsage()
    {
        var frame = "data: {\"choices\":[{\"index\":0,\"delta\":{}}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n\n"u8;
        Assert.Equal(OpenAiFrameKind.ChunkWithUsage, OpenAiFrameInspector.Inspect(frame, out var usage));
        Assert.Equal(3, usage.TotalTokens);
    }

    [Fact]
    public void Inspect_ContentMentioningUsage_IsOther()
    {
        // The text "usage": inside a string value must not be taken for the field.
        var frame = "data: {\"choices\":[{\"delta\":{\"content\":\"the \\\"usage\\\": {x}\"}}]}\n\n"u8;
        Assert.Equal(OpenAiFrameKind.Other, OpenAiFrameInspector.Inspect(frame, out _));
    }

    [Fact]
    public void Inspect_Comment_IsOther()
    {
        Assert.Equal(OpenAiFrameKind.Other, OpenAiFrameInspector.Inspect(": keep-alive\n\n"u8, out _));
    }
}
