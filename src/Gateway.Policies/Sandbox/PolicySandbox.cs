using System.Text;
using Acornima.Ast;
using Jint;
using Jint.Native;
using Jint.Runtime.Descriptors;
using Jint.Runtime.Interop;

namespace Gateway.Policies.Sandbox;

/// <summary>
/// What makes an engine safe to hand a policy: the checks on its source before it is prepared, and
/// the lockdown each engine runs before the module is evaluated (<c>Lockdown.js</c>).
/// </summary>
internal static class PolicySandbox
{
    /// <summary>The global the module footer calls to freeze the module's own top-level values.</summary>
    public const string HardenName = "__gatewayHarden";

    private static readonly Prepared<Script> Lockdown = Engine.PrepareScript("(" + ReadLockdown() + ")", "gateway:lockdown.js");

    private static string ReadLockdown()
    {
        using var stream = typeof(PolicySandbox).Assembly.GetManifestResourceStream("Gateway.Policies.Lockdown.js")
            ?? throw new InvalidOperationException("the Lockdown.js resource is missing from Gateway.Policies");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>
    /// Refuses what no runtime limit can make safe, and names the module's top-level bindings so the
    /// footer can freeze their values once the module has run.
    /// </summary>
    /// <returns>Null when the module may run, else why not (with line and column).</returns>
    public static string? Check(Acornima.Ast.Module module, string source, List<string> topLevelNames)
    {
        foreach (var node in module.DescendantNodes())
        {
            if (node is BigIntLiteral)
                return $"{source}:{node.Location.Start.Line}:{node.Location.Start.Column + 1}: BigInt is not available to policies (one operation on a huge BigInt runs for minutes, past any time limit)";
        }
        // Outside functions, only const: a let or var a hook could reassign would carry one request's
        // data into the next.
        foreach (var node in module.DescendantNodes(descendIntoChildren: n => n is not IFunction))
        {
            if (node is VariableDeclaration { Kind: not VariableDeclarationKind.Const } declaration)
                return $"{source}:{node.Location.Start.Line}:{node.Location.Start.Column + 1}: '{(declaration.Kind == VariableDeclarationKind.Var ? "var" : "let")}' outside a function would keep state from one request to the next; use const (module-level values are frozen), or declare it inside the hook";
        }
        foreach (var statement in module.Body)
        {
            var declaration = statement switch
            {
                ExportNamedDeclaration named => named.Declaration,
                ExportDefaultDeclaration { Declaration: Declaration d } => d,
                _ => statement,
            };
            switch (declaration)
            {
                case VariableDeclaration variables:
                    foreach (var declarator in variables.Declarations) Names(declarator.Id, topLevelNames);
                    break;
                case FunctionDeclaration { Id: { } id }:
                    topLevelNames.Add(id.Name);
                    break;
                case ClassDeclaration { Id: { } id }:
                    topLevelNames.Add(id.Name);
                    break;
            }
        }
        if (topLevelNames.Find(n => n.StartsWith("__gateway", StringComparison.Ordinal)) is { } reserved)
            return $"{source}: '{reserved}' is reserved for the gateway";
        return null;
    }

    private static void Names(Node pattern, List<string> names)
    {
        switch (pattern)
        {
            case Identifier id: names.Add(id.Name); break;
            case ObjectPattern o:
                foreach (var p in o.Properties) Names(p is Property property ? property.Value : ((RestElement)p).Argument, names);
                break;
            case ArrayPattern a:
                foreach (var e in a.Elements) if (e is not null) Names(e, names);
                break;
            case AssignmentPattern ap: Names(ap.Left, names); break;
            case RestElement r: Names(r.Argument, names); break;
        }
    }

    /// <summary>The statement appended to a module: freezes every top-level value once the module has run.</summary>
    public static string Footer(List<string> topLevelNames) =>
        topLevelNames.Count == 0 ? "" : $"\n;{HardenName}([{string.Join(", ", topLevelNames)}]);\n";

    /// <summary>Locks an engine down before the module runs in it. Returns the hardening function, for the module's exports.</summary>
    public static JsValue Apply(Engine engine, CallBudget budget)
    {
        var require = new ClrFunction(engine, "require", (_, args) =>
        {
            double bytes = args.Length > 0 && args[0].IsNumber() ? args[0].AsNumber() : 0;
            budget.Require(bytes, args.Length > 1 && args[1].IsString() ? args[1].AsString() : "this step");
            return JsValue.Undefined;
        }, 2, PropertyFlag.Configurable);
        var lockdown = engine.Evaluate(in Lockdown);
        return engine.Call(lockdown, JsValue.Undefined, [require]);
    }
}
