using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Gateway.Providers.Gemini;

namespace Gateway.Providers.Tests.Gemini;

public class GeminiEmbeddingsTests
{
    [Fact]
    public void Request_EachInputBecomesOneBatchRequestWithDimensions()
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.Null(GeminiEmbeddings.TranslateRequest(Encoding.UTF8.GetBytes("""{"model":"gemini/e","input":["a","b"],"dimensions":8}"""), "e", output, out bool base64));
        Assert.False(base64);
        var requests = JsonDocument.Parse(output.WrittenMemory).RootElement.GetProperty("requests");
        Assert.Equal(2, requests.GetArrayLength());
        Assert.Equal(("models/e", "b", 8), (requests[1].GetProperty("model").GetString(), requests[1].GetProperty("content").GetProperty("parts")[0].GetProperty("text").GetString(),
            requests[1].GetProperty("outputDimensionality").GetInt32()));
    }

    [Fact]
    public void Request_TokenArrays_AreRejected()
    {
        var error = GeminiEmbeddings.TranslateRequest(Encoding.UTF8.GetBytes("""{"model":"m","input":[[1,2,3]]}"""), "m", new ArrayBufferWriter<byte>(), out _);
        Assert.Equal(400, error!.Status);
    }

    [Fact]
    public void Response_Base64_IsLittleEndianFloat32OfTheValues()
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.Null(GeminiEmbeddings.TranslateResponse("""{"embeddings":[{"values":[0.5,-0.25]},{"values":[1,0]}]}"""u8, "e", base64: true, output));
        var data = JsonDocument.Parse(output.WrittenMemory).RootElement.GetProperty("data");
        Assert.Equal(1, data[1].GetProperty("index").GetInt32());
        var bytes = Convert.FromBase64String(data[0].GetProperty("embedding").GetString()!);
        Assert.Equal((0.5f, -0.25f), (BinaryPrimitives.ReadSingleLittleEndian(bytes), BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(4))));
    }
}
