using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Policies;
using Gateway.Server.Http;
using Gateway.Core.Config;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Server.FunctionalTests.Http;

public sealed class PolicyChunkStageTests : IDisposable
{
    private readonly PolicyRunner _runner = new(NullLogger.Instance, workers: 2);

    public void Dispose() => _runner.Dispose();

    private static readonly string Filter = File.ReadAllText(Path.Combine(Root(), "policies", "response-filter.js"));

    private static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Gateway.sln"))) return dir.FullName;
        throw new InvalidOperationException("Gateway.sln not found");
    }

    private PolicyChunkStage Stage(string code)
    {
        var limits = PolicyLimits.Default with { Timeout = TimeSpan.FromSeconds(3) };
        var policy = CompiledPolicy.Compile("filter", code, 1, PolicyMode.FailClosed, limits, out var error) ?? throw new InvalidOperationException(error);
        var slot = new PolicySlot(new PolicyConfig("filter", "filter.js", false, ["*"], ["*"], new PolicyLimitsConfig()), policy);
        return new PolicyChunkStage(slot, policy, new PolicyContext("m"), _runner, NullLogger.Instance);
    }

    private static byte[] Frame(string content, bool finish = false) => Encoding.UTF8.GetBytes(
        $$"""data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":{{JsonSerializer.Serialize(content)}}},"finish_reason":{{(finish ? "\"stop\"" : "null")}}}]}""" + "\n\n");

    private static List<string> Contents(ArrayBufferWriter<byte> output) => Encoding.UTF8.GetString(output.WrittenSpan)
        .Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Where(f => f.StartsWith("data: {", StringComparison.Ordinal))
        .Select(f => JsonDocument.Parse(f[6..]).RootElement.GetProperty("choices")).Where(c => c.GetArrayLength() > 0)
        .Select(c => c[0].GetProperty("delta"))
        .Select(d => d.TryGetProperty("content", out var c) ? c.GetString()! : "").ToList();

    [Fact]
    public async Task TermSplitOverChunks_IsMasked_OnlyItsPossibleStartHeldBack()
    {
        var stage = Stage(Filter);
        var output = new ArrayBufferWriter<byte>();
        foreach (var piece in new[] { "The code name is Project Night", "ingale, on db1.corp", ".internal. Done" })
            await stage.OnFrameAsync(Frame(piece), output);
        await stage.OnFrameAsync(Frame("", finish: true), output);
        await stage.OnFrameAsync("data: [DONE]\n\n"u8.ToArray(), output);

        var contents = Contents(output);
        Assert.Equal("The code name is [filtered], on [filtered]. Done", string.Concat(contents));
        Assert.Equal("The code name is ", contents[0]); // "Project Night" waited for the next chunk
        Assert.DoesNotContain(contents, c => c.Contains("Night", StringComparison.Ordinal) || c.Contains("corp", StringComparison.Ordinal));
        Assert.True(stage.Completed);
    }

    [Fact]
    public async Task AChunkThePolicyLeavesAsItIs_GoesOutAsTheSameFrame_FieldsTheGatewayDoesNotModelIncluded()
    {
        var stage = Stage("export function onChunk(chunk) { return chunk.choices[0].delta.content === 'edit' ? chunk : undefined; }");
        var frame = Encoding.UTF8.GetBytes("""data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","x_vendor":{"a":1.50},"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}""" + "\n\n");
        var output = new ArrayBufferWriter<byte>();
        await stage.OnFrameAsync(frame, output);
        Assert.Equal(Encoding.UTF8.GetString(frame), Encoding.UTF8.GetString(output.WrittenSpan));

        // A chunk the policy returns is read into the canonical type and written again.
        output.ResetWrittenCount();
        await stage.OnFrameAsync(Frame("edit"), output);
        Assert.Equal(["edit"], Contents(output));
    }

    [Fact]
    public async Task HeldTailThatNeverBecomesATerm_GoesOutBeforeDone()
    {
        var stage = Stage(Filter);
        var output = new ArrayBufferWriter<byte>();
        await stage.OnFrameAsync(Frame("see the project"), output);
        await stage.OnFrameAsync("data: [DONE]\n\n"u8.ToArray(), output);
        Assert.Equal("see the project", string.Concat(Contents(output)));
        Assert.EndsWith("data: [DONE]\n\n", Encoding.UTF8.GetString(output.WrittenSpan), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AUsageChunkWhileContentIsHeld_GoesOutAsItCame_TheHeldContentStillFollows()
    {
        var stage = Stage(Filter);
        var output = new ArrayBufferWriter<byte>();
        await stage.OnFrameAsync(Frame("see the project"), output);
        var usage = Encoding.UTF8.GetBytes("""data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}""" + "\n\n");
        int before = output.WrittenCount;
        await stage.OnFrameAsync(usage, output);
        Assert.Equal(Encoding.UTF8.GetString(usage), Encoding.UTF8.GetString(output.WrittenSpan[before..]));
        await stage.OnFrameAsync("data: [DONE]\n\n"u8.ToArray(), output);
        Assert.Equal("see the project", string.Concat(Contents(output)));
        // The held content's own chunk carries the stream's id, created and model.
        var frames = Encoding.UTF8.GetString(output.WrittenSpan[(before + usage.Length)..]).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        var held = JsonDocument.Parse(frames[0][6..]).RootElement;
        Assert.Equal(("c", 1, "m"), (held.GetProperty("id").GetString(), held.GetProperty("created").GetInt32(), held.GetProperty("model").GetString()));
        Assert.Equal("data: [DONE]", frames[^1]);
    }

    [Fact]
    public async Task Reject_EndsTheStreamWithThePolicysError()
    {
        var stage = Stage("export function onChunk(chunk) { return { reject: { status: 451, message: 'not here' } }; }");
        var output = new ArrayBufferWriter<byte>();
        await stage.OnFrameAsync(Frame("x"), output);
        var error = Assert.IsType<Gateway.Core.Errors.GatewayError>(stage.Failure);
        Assert.Equal((451, "policy_rejected", "not here"), (error.Status, error.Code, error.Message));
        Assert.Equal(0, output.WrittenCount); // the refused chunk never goes out
        await stage.OnFrameAsync(Frame("y"), output);
        Assert.Equal(0, output.WrittenCount); // nor anything after it
    }

    [Fact]
    public async Task Throwing_FailClosed_NamesThePolicy()
    {
        var stage = Stage("export function onChunk(chunk) { throw new Error('bad chunk'); }");
        await stage.OnFrameAsync(Frame("x"), new ArrayBufferWriter<byte>());
        var error = Assert.IsType<Gateway.Core.Errors.GatewayError>(stage.Failure);
        Assert.Equal("policy_failed", error.Code);
        Assert.Contains("'filter'", error.Message, StringComparison.Ordinal);
    }
}
