using System.Text.Json;
using Gateway.Server.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Server.FunctionalTests.Hosting;

public partial class LineLoggerTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 10, 20, 30, 456, TimeSpan.Zero);

    private static (ILogger Logger, StringWriter Output) Make(bool json, bool colors = false, string category = "Gateway.Test")
    {
        var output = new StringWriter();
        var time = new FakeTimeProvider(Now); // its local time zone is UTC
        var provider = new LineLoggerProvider(output, json, time, colors);
        return (provider.CreateLogger(category), output);
    }

    [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "POST {Path} {Status} in {DurationMs:0.###} ms, outcome {Outcome}, key {KeyId}")]
    private static partial void Request(ILogger logger, string path, int status, double durationMs, DayOfWeek outcome, string? keyId);

    [Fact]
    public void Text_IsTimeLevelCategoryEventAndMessage_OnOneLine()
    {
        var (logger, output) = Make(json: false);
        Request(logger, "/v1/chat/completions", 200, 1.23456, DayOfWeek.Friday, "k1");
        Assert.Equal("10:20:30.456 info: Gateway.Test[7] POST /v1/chat/completions 200 in 1.235 ms, outcome Friday, key k1\n", output.ToString());
    }

    [Fact]
    public void Text_AnExceptionAndLineEndsInTheMessage_StayOnTheEntrysLine()
    {
        var (logger, output) = Make(json: false);
        Exception error;
        try
        {
            throw new InvalidOperationException("boom\nsecond line");
        }
        catch (InvalidOperationException ex)
        {
            error = ex;
        }
        logger.LogError(new EventId(3), error, "failed:\r\nwhile {Doing}", "sending");
        string text = output.ToString();
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        Assert.Equal(1, text.Count(c => c == '\n'));
        Assert.DoesNotContain('\r', text);
        Assert.StartsWith("10:20:30.456 fail: Gateway.Test[3] failed: while sending System.InvalidOperationException: boom second line", text, StringComparison.Ordinal);
        Assert.Contains(nameof(Text_AnExceptionAndLineEndsInTheMessage_StayOnTheEntrysLine), text, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_OnATerminal_TheLevelIsColouredAsTheConsoleLoggerDid()
    {
        var (logger, output) = Make(json: false, colors: true);
        logger.LogWarning("careful");
        Assert.Equal("10:20:30.456 \x1B[40m\x1B[1m\x1B[33mwarn\x1B[39m\x1B[22m\x1B[49m: Gateway.Test[0] careful\n", output.ToString());
    }

    [Fact]
    public void Json_IsOneObjectPerLine_WithTheStructuredValuesTyped()
    {
        var (logger, output) = Make(json: true, category: "Gateway.Requests");
        Request(logger, "/v1/chat/completions", 200, 1.5, DayOfWeek.Monday, null);
        logger.LogInformation("plain \"quoted\" text");
        string[] lines = output.ToString().Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.Equal("", lines[2]);
        using var first = JsonDocument.Parse(lines[0]);
        var root = first.RootElement;
        Assert.Equal("2026-12-02T10:20:30.456Z", root.GetProperty("Timestamp").GetString());
        Assert.Equal(7, root.GetProperty("EventId").GetInt32());
        Assert.Equal("Information", root.GetProperty("LogLevel").GetString());
        Assert.Equal("Gateway.Requests", root.GetProperty("Category").GetString());
        Assert.Equal("POST /v1/chat/completions 200 in 1.5 ms, outcome Monday, key (null)", root.GetProperty("Message").GetString());
        Assert.False(root.TryGetProperty("Exception", out _));
        var state = root.GetProperty("State");
        Assert.Equal(root.GetProperty("Message").GetString(), state.GetProperty("Message").GetString());
        Assert.Equal(JsonValueKind.Number, state.GetProperty("Status").ValueKind);
        Assert.Equal(200, state.GetProperty("Status").GetInt32());
        Assert.Equal(1.5, state.GetProperty("DurationMs").GetDouble());
        Assert.Equal("Monday", state.GetProperty("Outcome").GetString());
        Assert.Equal(JsonValueKind.Null, state.GetProperty("KeyId").ValueKind);
        Assert.Equal("POST {Path} {Status} in {DurationMs:0.###} ms, outcome {Outcome}, key {KeyId}", state.GetProperty("{OriginalFormat}").GetString());
        using var second = JsonDocument.Parse(lines[1]);
        Assert.Equal("plain \"quoted\" text", second.RootElement.GetProperty("Message").GetString());
    }

    [Fact]
    public void ManyThreads_EachLineArrivesWhole()
    {
        var (logger, output) = Make(json: false);
        Parallel.For(0, 8, thread =>
        {
            for (int i = 0; i < 500; i++) logger.LogInformation("thread {Thread} line {Line} " + new string('x', 40), thread, i);
        });
        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4000, lines.Length);
        Assert.All(lines, line => Assert.Matches(@"^10:20:30\.456 info: Gateway\.Test\[0\] thread [0-7] line [0-9]+ x{40}$", line));
    }
}
