namespace Gateway.Server.Hosting;

/// <summary>
/// Socket completions run inline on the runtime's epoll threads instead of hopping to the thread
/// pool: measured 12% (JSON) to 19% (streams) less CPU per proxied request (bench/RESULTS.md).
/// The price is that code after an upstream read runs on an epoll thread, so work that may take
/// long first moves to the thread pool (<see cref="Gateway.Core.Threading.IoThread.Leave"/>).
/// </summary>
internal static class SocketCompletions
{
    /// <summary>The runtime's switch, read once when the first socket is created.</summary>
    public const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Switches inline completions on for this process unless the operator set the variable (0 turns them off).</summary>
    public static void PreferInline()
    {
        if (Environment.GetEnvironmentVariable(Variable) is null) Environment.SetEnvironmentVariable(Variable, "1");
    }
}
