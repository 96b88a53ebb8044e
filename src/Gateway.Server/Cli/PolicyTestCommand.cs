using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Gateway.Policies;

namespace Gateway.Server.Cli;

/// <summary>
/// <c>gateway policy test FILE --request req.json [--response res.json]</c>: runs a policy offline,
/// under the same sandbox and limits as the server, and prints what each hook decided and how long it took.
/// </summary>
internal static class PolicyTestCommand
{
    public const string Usage = "gateway policy test FILE --request REQ.json [--response RES.json] [--model M] [--key ID]";

    /// <returns>0 when every hook ran (a reject or respond is a decision, not a failure); 1 on a throw, a limit or a compile error; 2 on bad arguments.</returns>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0) { stderr.WriteLine($"usage: {Usage}"); return 2; }
        string file = args[0];
        string? request = null, response = null, model = null, key = null;
        for (int i = 1; i < args.Length; i++)
        {
            string? value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--request" when value is not null: request = value; i++; break;
                case "--response" when value is not null: response = value; i++; break;
                case "--model" when value is not null: model = value; i++; break;
                case "--key" when value is not null: key = value; i++; break;
                default:
                    stderr.WriteLine($"policy test: unexpected argument '{args[i]}'");
                    stderr.WriteLine($"usage: {Usage}");
                    return 2;
            }
        }
        if (request is null && response is null) { stderr.WriteLine("policy test: give --request, --response or both"); return 2; }
        foreach (var path in new[] { file, request, response })
            if (path is not null && !File.Exists(path)) { stderr.WriteLine($"policy test: {path}: no such file"); return 2; }

        long compileStarted = Stopwatch.GetTimestamp();
        var policy = CompiledPolicy.Compile(Path.GetFileNameWithoutExtension(file), File.ReadAllText(file), 1, PolicyMode.FailClosed, PolicyLimits.Default,
            out var error, Path.GetFileName(file));
        if (policy is null) { stderr.WriteLine($"compile: {error}"); return 1; }
        stdout.WriteLine($"compiled {file} in {Ms(Stopwatch.GetElapsedTime(compileStarted))} (hooks: {policy.Hooks})");

        bool ok = true;
        if (request is not null)
            ok &= RunHook("onRequest", PolicyHooks.OnRequest, policy, File.ReadAllBytes(request), model, key, stdout, stderr);
        if (response is not null)
            ok &= RunHook("onResponse", PolicyHooks.OnResponse, policy, File.ReadAllBytes(response), model, key, stdout, stderr);
        return ok ? 0 : 1;
    }

    private static bool RunHook(string name, PolicyHooks hook, CompiledPolicy policy, byte[] json, string? model, string? key, TextWriter stdout, TextWriter stderr)
    {
        if ((policy.Hooks & hook) == 0)
        {
            stdout.WriteLine($"{name}: not exported, nothing to run");
            return true;
        }
        model ??= ModelOf(json);
        var context = new PolicyContext(model, key);
        // The first call builds an engine; the second shows what a request pays once engines are pooled.
        var output = new ArrayBufferWriter<byte>();
        long started = Stopwatch.GetTimestamp();
        var outcome = Call(hook, policy, json, context, output);
        var first = Stopwatch.GetElapsedTime(started);
        var warm = TimeSpan.Zero;
        if (outcome.Kind != PolicyOutcomeKind.Failed)
        {
            var again = new ArrayBufferWriter<byte>();
            started = Stopwatch.GetTimestamp();
            Call(hook, policy, json, context, again);
            warm = Stopwatch.GetElapsedTime(started);
        }
        string timing = outcome.Kind == PolicyOutcomeKind.Failed ? Ms(first) : $"{Ms(first)} first call, {Ms(warm)} warm";
        switch (outcome.Kind)
        {
            case PolicyOutcomeKind.Unchanged:
                stdout.WriteLine($"{name}: unchanged ({timing})");
                return true;
            case PolicyOutcomeKind.Changed:
                stdout.WriteLine($"{name}: changed ({timing})");
                stdout.WriteLine(Encoding.UTF8.GetString(output.WrittenSpan));
                return true;
            case PolicyOutcomeKind.Respond:
                stdout.WriteLine($"{name}: responds in the provider's place ({timing})");
                stdout.WriteLine(Encoding.UTF8.GetString(output.WrittenSpan));
                return true;
            case PolicyOutcomeKind.Reject:
                stdout.WriteLine($"{name}: rejects with {outcome.Status}: {outcome.Message} ({timing})");
                return true;
            default:
                stderr.WriteLine($"{name}: FAILED{(outcome.LimitHit ? " (limit)" : "")}: {outcome.Message} ({timing})");
                return false;
        }
    }

    private static PolicyOutcome Call(PolicyHooks hook, CompiledPolicy policy, byte[] json, PolicyContext context, IBufferWriter<byte> output) =>
        hook == PolicyHooks.OnRequest ? policy.OnRequest(json, context, output) : policy.OnResponse(json, context, output);

    private static string ModelOf(byte[] json)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(json);
            return document.RootElement.TryGetProperty("model", out var m) && m.ValueKind == System.Text.Json.JsonValueKind.String ? m.GetString()! : "";
        }
        catch (System.Text.Json.JsonException)
        {
            return "";
        }
    }

    private static string Ms(TimeSpan time) => time.TotalMilliseconds.ToString("0.000", CultureInfo.InvariantCulture) + " ms";
}
