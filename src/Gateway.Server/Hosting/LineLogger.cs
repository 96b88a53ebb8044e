using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Hosting;

/// <summary>
/// The gateway's log lines: one line per entry, in text (<c>12:00:00.000 info: Category[4] message</c>) or
/// JSON (<c>{"Timestamp","EventId","LogLevel","Category","Message","Exception","State"}</c>), the shapes of
/// the console logger's simple single-line and JSON formatters. Written on the caller's thread in one call
/// to the output (standard output's batched writer when serving): the console logger handed each line to a
/// thread of its own, which woke once per line, the line per request included; and building it took the
/// generic host's option and dependency-injection types, most of the start's time in the native binary.
/// </summary>
internal sealed class LineLoggerProvider(TextWriter output, bool json, TimeProvider time, bool? colors = null) : ILoggerProvider
{
    // One line's characters, reused by the thread that logs (the request line is written once per request).
    [ThreadStatic] private static ArrayBufferWriter<char>? t_line;

    private readonly Lock _gate = new();
    // Colours on a terminal only: never in a file, a pipe, or a writer of a test's own.
    private readonly bool _colors = !json && (colors ?? (ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected));

    public ILogger CreateLogger(string categoryName) => new LineLogger(categoryName, this);

    public void Dispose()
    {
    }

    private void Write<TState>(string category, LogLevel level, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        string message = formatter(state, exception);
        if (json)
        {
            WriteJson(category, level, eventId, state, message, exception);
            return;
        }
        string? error = exception?.ToString();
        var line = t_line ??= new ArrayBufferWriter<char>(256);
        line.ResetWrittenCount();
        Span<char> stamp = stackalloc char[16];
        time.GetLocalNow().TryFormat(stamp, out int written, "HH:mm:ss.fff ", CultureInfo.InvariantCulture);
        line.Write(stamp[..written]);
        var (name, foreground, background) = Level(level);
        if (_colors) line.Write(background + foreground);
        line.Write(name);
        if (_colors) line.Write("\x1B[39m\x1B[22m\x1B[49m");
        line.Write(": ");
        line.Write(category);
        line.Write("[");
        eventId.Id.TryFormat(stamp, out written, default, CultureInfo.InvariantCulture);
        line.Write(stamp[..written]);
        line.Write("] ");
        OneLine(line, message);
        if (error is not null)
        {
            line.Write(" ");
            OneLine(line, error);
        }
        line.Write("\n");
        lock (_gate) output.Write(line.WrittenSpan);
        if (line.Capacity > 16 * 1024) t_line = null; // an exception's stack: not kept for the thread's life
    }

    /// <summary>A single-line entry: line ends inside the message (an exception's stack) become spaces.</summary>
    private static void OneLine(ArrayBufferWriter<char> line, string text)
    {
        var rest = text.AsSpan();
        int at;
        while ((at = rest.IndexOfAny('\r', '\n')) >= 0)
        {
            line.Write(rest[..at]);
            line.Write(" ");
            rest = rest[(at + (rest[at] == '\r' && at + 1 < rest.Length && rest[at + 1] == '\n' ? 2 : 1))..];
        }
        line.Write(rest);
    }

    private void WriteJson<TState>(string category, LogLevel level, EventId eventId, TState state, string message, Exception? exception)
    {
        var buffer = new ArrayBufferWriter<byte>(256 + message.Length * 2);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("Timestamp", time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
            writer.WriteNumber("EventId", eventId.Id);
            writer.WriteString("LogLevel", level.ToString());
            writer.WriteString("Category", category);
            writer.WriteString("Message", message);
            if (exception is not null) writer.WriteString("Exception", exception.ToString());
            if (state is IReadOnlyCollection<KeyValuePair<string, object?>> properties)
            {
                writer.WriteStartObject("State");
                writer.WriteString("Message", state.ToString());
                foreach (var (key, value) in properties) WriteValue(writer, key, value);
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }
        int chars = System.Text.Encoding.UTF8.GetCharCount(buffer.WrittenSpan);
        char[] rented = ArrayPool<char>.Shared.Rent(chars + 1);
        try
        {
            int length = System.Text.Encoding.UTF8.GetChars(buffer.WrittenSpan, rented);
            rented[length] = '\n';
            lock (_gate) output.Write(rented.AsSpan(0, length + 1));
        }
        finally
        {
            ArrayPool<char>.Shared.Return(rented);
        }
    }

    /// <summary>A structured value as its JSON type: numbers and booleans as themselves, the rest as text.</summary>
    private static void WriteValue(Utf8JsonWriter writer, string key, object? value)
    {
        switch (value)
        {
            case null: writer.WriteNull(key); break;
            case bool b: writer.WriteBoolean(key, b); break;
            case int i: writer.WriteNumber(key, i); break;
            case long l: writer.WriteNumber(key, l); break;
            case double d when double.IsFinite(d): writer.WriteNumber(key, d); break;
            case float f when float.IsFinite(f): writer.WriteNumber(key, f); break;
            case decimal m: writer.WriteNumber(key, m); break;
            case short s: writer.WriteNumber(key, s); break;
            case byte y: writer.WriteNumber(key, y); break;
            case uint u: writer.WriteNumber(key, u); break;
            case ulong ul: writer.WriteNumber(key, ul); break;
            case IFormattable formattable: writer.WriteString(key, formattable.ToString(null, CultureInfo.InvariantCulture)); break;
            default: writer.WriteString(key, value.ToString()); break;
        }
    }

    /// <summary>The level's four letters and, on a terminal, its colours (foreground, background), as the console logger shows them.</summary>
    private static (string Name, string Foreground, string Background) Level(LogLevel level) => level switch
    {
        LogLevel.Trace => ("trce", "\x1B[37m", "\x1B[40m"),
        LogLevel.Debug => ("dbug", "\x1B[37m", "\x1B[40m"),
        LogLevel.Information => ("info", "\x1B[32m", "\x1B[40m"),
        LogLevel.Warning => ("warn", "\x1B[1m\x1B[33m", "\x1B[40m"),
        LogLevel.Error => ("fail", "\x1B[30m", "\x1B[41m"),
        _ => ("crit", "\x1B[1m\x1B[37m", "\x1B[41m"),
    };

    private sealed class LineLogger(string category, LineLoggerProvider provider) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel != LogLevel.None) provider.Write(category, logLevel, eventId, state, exception, formatter);
        }
    }
}
