using Gateway.Policies.Pii;
using Jint;
using Jint.Native;
using Jint.Native.Array;
using Jint.Native.Object;
using Jint.Runtime;
using Jint.Runtime.Descriptors;
using Jint.Runtime.Interop;

namespace Gateway.Policies;

/// <summary>
/// The host functions a policy may call, as the global <c>gateway</c> object. Built from
/// <see cref="ClrFunction"/>s that take and return JS strings only: no .NET object reaches the
/// engine, which keeps the sandbox (and the AOT build) honest.
/// </summary>
internal static class PolicyHelpers
{
    public static void Install(Engine engine, Func<PolicyContext?> context)
    {
        var gateway = new JsObject(engine);
        gateway.Set("redact", new ClrFunction(engine, "redact", (_, args) => Redact(engine, context(), args), 2, PropertyFlag.Configurable));
        gateway.Set("restore", new ClrFunction(engine, "restore", (_, args) =>
        {
            var text = args.Length > 0 ? args[0] : JsValue.Undefined;
            return text.IsString() && context() is { HasPlaceholders: true } ctx ? ctx.Vault.Restore(text.AsString()) : text;
        }, 1, PropertyFlag.Configurable));
        engine.SetValue("gateway", gateway);
    }

    /// <summary><c>gateway.redact(text, { mode: 'mask' | 'hash' | 'placeholder', kinds: ['email', ...] })</c>.</summary>
    private static JsValue Redact(Engine engine, PolicyContext? context, JsValue[] args)
    {
        var text = args.Length > 0 ? args[0] : JsValue.Undefined;
        if (!text.IsString()) return text;
        var mode = PiiMode.Mask;
        var kinds = PiiKinds.All;
        if (args.Length > 1 && args[1] is ObjectInstance options)
        {
            var m = options.Get("mode");
            if (!m.IsUndefined())
            {
                if (!m.IsString()) throw new JavaScriptException(engine.Intrinsics.TypeError, "gateway.redact: mode must be a string");
                if (!PiiRedactor.TryParseMode(m.AsString(), out mode))
                    throw new JavaScriptException(engine.Intrinsics.TypeError, $"gateway.redact: unknown mode '{m.AsString()}' (mask, hash or placeholder)");
            }
            if (options.Get("kinds") is ArrayInstance list)
            {
                kinds = PiiKinds.None;
                foreach (var item in list)
                {
                    if (!item.IsString() || !PiiRedactor.TryParseKind(item.AsString(), out var kind))
                        throw new JavaScriptException(engine.Intrinsics.TypeError, $"gateway.redact: unknown kind '{item}' (email, phone, credit_card, iban, us_ssn, ip_address, secret)");
                    kinds |= kind;
                }
            }
        }
        // Outside a request (module top level) there is no vault to keep placeholders in.
        if (mode == PiiMode.Placeholder && context is null) mode = PiiMode.Mask;
        return PiiRedactor.Redact(text.AsString(), mode, kinds, context?.Vault);
    }
}
