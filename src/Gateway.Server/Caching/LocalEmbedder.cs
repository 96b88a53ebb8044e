using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Gateway.Core.Caching;
using Microsoft.Extensions.Logging;

namespace Gateway.Server.Caching;

/// <summary>
/// The semantic cache's <c>local</c> embedder: all-MiniLM-L6-v2 in its own process (<c>gateway-embedder</c>,
/// an optional component), started the first time a prompt needs it and restarted when it dies. One JSON
/// object per line each way over its stdin and stdout. A prompt never waits for it to start: until it
/// says it is ready (a few seconds, loading the model), and while it cannot be started, prompts are
/// answered "unavailable" and those requests use the exact cache alone.
/// </summary>
internal sealed partial class LocalEmbedder(string path, TimeProvider time, ILogger logger) : IPromptEmbedder, IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(30);

    private readonly Lock _lock = new();
    private readonly ConcurrentDictionary<long, TaskCompletionSource<float[]>> _pending = new();
    private Process? _process;
    private StreamWriter? _input;
    private bool _ready, _disposed;
    private long _nextId, _notBefore;

    public string Name => Gateway.Core.Config.SemanticCacheConfig.LocalEmbedder;

    /// <summary>The program's path, as found.</summary>
    public string Path => path;

    /// <summary>Where the program is looked for: <c>cache.localEmbedder</c>, <c>GATEWAY_EMBEDDER</c>, then <c>embedder/gateway-embedder</c> beside the gateway.</summary>
    public static string Locate(string? configured, string? environment) =>
        configured ?? environment ?? System.IO.Path.Combine(AppContext.BaseDirectory, "embedder", OperatingSystem.IsWindows() ? "gateway-embedder.exe" : "gateway-embedder");

    public bool Ready
    {
        get
        {
            lock (_lock) return _ready;
        }
    }

    public async ValueTask<float[]> EmbedAsync(string prompt, CancellationToken cancellationToken)
    {
        StreamWriter input;
        long id;
        var answer = new TaskCompletionSource<float[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (!_ready || _input is null)
            {
                StartIfDue();
                throw new EmbedderException(_process is null ? $"the local embedder is not running ({path})" : "the local embedder is starting");
            }
            input = _input;
            id = ++_nextId;
            _pending[id] = answer;
            // Written under the lock: lines from concurrent prompts must not interleave.
            try
            {
                input.WriteLine($"{{\"id\":{id},\"text\":{JsonSerializer.Serialize(prompt, EmbedderProtocol.Default.String)}}}");
                input.Flush();
            }
            catch (IOException ex)
            {
                _pending.TryRemove(id, out _);
                throw new EmbedderException("the local embedder stopped taking prompts: " + ex.Message, ex);
            }
        }
        try
        {
            return await answer.Task.WaitAsync(Timeout, time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new EmbedderException($"the local embedder did not answer within {Timeout.TotalSeconds:0} s", ex);
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>Starts the program now, if it is not running and no recent start failed.</summary>
    public void StartIfDue()
    {
        lock (_lock)
        {
            if (_disposed || _process is not null || time.GetTimestamp() < _notBefore) return;
            _notBefore = time.GetTimestamp() + (long)(RetryAfter.TotalSeconds * time.TimestampFrequency);
            if (!File.Exists(path))
            {
                Log.Missing(logger, path);
                return;
            }
            var process = new Process
            {
                StartInfo = new ProcessStartInfo(path)
                {
                    RedirectStandardInput = true,
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    UseShellExecute = false,
                },
                EnableRaisingEvents = true,
            };
            try
            {
                process.Start();
            }
            catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
            {
                Log.StartFailed(logger, path, ex.Message);
                process.Dispose();
                return;
            }
            _process = process;
            _input = process.StandardInput;
            _ = ReadAsync(process);
            _ = DrainErrorsAsync(process);
        }
    }

    private async Task ReadAsync(Process process)
    {
        try
        {
            while (await process.StandardOutput.ReadLineAsync().ConfigureAwait(false) is { } line)
                Accept(line);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // it died; handled below
        }
        lock (_lock)
        {
            if (_process == process)
            {
                _process = null;
                _input = null;
                _ready = false;
            }
        }
        foreach (var (id, waiting) in _pending)
            if (_pending.TryRemove(id, out _)) waiting.TrySetException(new EmbedderException("the local embedder exited"));
        if (!_disposed) Log.Exited(logger, path, process.HasExited ? process.ExitCode : -1);
        process.Dispose();
    }

    private void Accept(string line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.TryGetProperty("ready", out _))
            {
                lock (_lock) _ready = true;
                Log.Ready(logger, path, root.TryGetProperty("dimensions", out var d) ? d.GetInt32() : 0);
                return;
            }
            if (!root.TryGetProperty("id", out var idValue) || !_pending.TryRemove(idValue.GetInt64(), out var waiting)) return;
            if (root.TryGetProperty("vector", out var vector) && vector.GetBytesFromBase64() is { Length: > 0 } bytes && bytes.Length % 4 == 0)
                waiting.TrySetResult(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray());
            else
                waiting.TrySetException(new EmbedderException("the local embedder failed: " + (root.TryGetProperty("error", out var error) ? error.GetString() : "no vector")));
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            Log.BadLine(logger, ex.Message);
        }
    }

    // Its diagnostics go to our log, a line at a time, so a chatty runtime cannot fill the pipe and stall it.
    private async Task DrainErrorsAsync(Process process)
    {
        try
        {
            while (await process.StandardError.ReadLineAsync().ConfigureAwait(false) is { } line)
                if (line.Length > 0) Log.Said(logger, line.Length > 500 ? line[..500] : line);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        Process? process;
        lock (_lock)
        {
            _disposed = true;
            process = _process;
            _process = null;
            _input = null;
            _ready = false;
        }
        if (process is null) return;
        try
        {
            process.StandardInput.Close(); // it exits when its input ends
            if (!process.WaitForExit(2000)) process.Kill(entireProcessTree: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
        {
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1811, Level = LogLevel.Warning, Message = "The semantic cache's local embedder is not installed at {Path}: the exact cache alone serves (see the README's Cache section to install it)")]
        public static partial void Missing(ILogger logger, string path);

        [LoggerMessage(EventId = 1812, Level = LogLevel.Warning, Message = "The local embedder {Path} could not start: {Reason}")]
        public static partial void StartFailed(ILogger logger, string path, string reason);

        [LoggerMessage(EventId = 1813, Level = LogLevel.Information, Message = "The local embedder {Path} is ready ({Dimensions} dimensions)")]
        public static partial void Ready(ILogger logger, string path, int dimensions);

        [LoggerMessage(EventId = 1814, Level = LogLevel.Warning, Message = "The local embedder {Path} exited (code {Code}); it is started again when a prompt needs it")]
        public static partial void Exited(ILogger logger, string path, int code);

        [LoggerMessage(EventId = 1815, Level = LogLevel.Warning, Message = "The local embedder sent a line that is not its protocol: {Reason}")]
        public static partial void BadLine(ILogger logger, string reason);

        [LoggerMessage(EventId = 1816, Level = LogLevel.Debug, Message = "local embedder: {Line}")]
        public static partial void Said(ILogger logger, string line);
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class EmbedderProtocol : System.Text.Json.Serialization.JsonSerializerContext;
