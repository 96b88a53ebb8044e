namespace Gateway.Server.Hosting;

/// <summary>What starts a gateway: the config file, where to listen, and the environment to read.</summary>
internal sealed record GatewayHostOptions
{
    /// <summary>gateway.json, or null for defaults plus environment.</summary>
    public string? ConfigPath { get; init; }
    /// <summary>Overrides the config's <c>server.urls</c> (from <c>--urls</c> or <c>ASPNETCORE_URLS</c>).</summary>
    public string? Urls { get; init; }
    /// <summary>The environment variables to use; tests pass their own instead of the process's.</summary>
    public required IReadOnlyDictionary<string, string> Environment { get; init; }
    /// <summary>Where the first-start banner (the new admin key) is printed.</summary>
    public TextWriter Banner { get; init; } = Console.Out;
    /// <summary>The clock of routing (breakers, rests, rate windows, backoff), upstream deadlines and the mock; tests drive a fake one.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
    /// <summary>Where routing and backoff draw their chances (<see cref="System.Random.Shared"/> unless a test seeds one).</summary>
    public Random Random { get; init; } = Random.Shared;
    /// <summary>Where log lines go (standard output unless a test gives its own writer).</summary>
    public TextWriter? LogOutput { get; init; }
    /// <summary>A second log destination, with the same levels (tests keep the lines in memory).</summary>
    public Microsoft.Extensions.Logging.ILoggerProvider? ExtraLogs { get; init; }
    /// <summary>Request sinks after the gateway's own (tests record what each request became).</summary>
    public IReadOnlyList<Gateway.Server.Pipeline.IRequestSink> ExtraSinks { get; init; } = [];
    /// <summary>How often each used policy's calls, failures, limit hits and time are logged.</summary>
    public TimeSpan PolicyMeterInterval { get; init; } = TimeSpan.FromMinutes(1);

    public static IReadOnlyDictionary<string, string> ProcessEnvironment()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
            if (entry.Key is string k && entry.Value is string v) result[k] = v;
        return result;
    }
}
