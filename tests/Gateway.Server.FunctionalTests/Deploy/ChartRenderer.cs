using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;
using YamlDotNet.Serialization;

namespace Gateway.Server.FunctionalTests.Deploy;

/// <summary>
/// Renders the Helm chart's templates without Helm (not served by this machine's registries): the subset of Go
/// templates and Sprig the chart uses - <c>define/include</c>, <c>if/else</c>, <c>with</c>, <c>range $k, $v :=</c>,
/// whitespace trimming, and <c>quote nindent default required toYaml toJson not</c>. Anything else is an error,
/// so a template that reaches past the subset fails the test rather than render wrongly.
/// </summary>
internal sealed class ChartRenderer
{
    private readonly Dictionary<string, List<Node>> _defines = [];
    private readonly Dictionary<string, object?> _root;

    public ChartRenderer(string chartDir, string release, Func<Dictionary<object, object?>, Dictionary<object, object?>>? overrides = null)
    {
        var chart = Yaml<Dictionary<object, object?>>(File.ReadAllText(Path.Combine(chartDir, "Chart.yaml")));
        var values = Yaml<Dictionary<object, object?>>(File.ReadAllText(Path.Combine(chartDir, "values.yaml")));
        if (overrides is not null) values = overrides(values);
        _root = new Dictionary<string, object?>
        {
            ["Values"] = values,
            ["Release"] = new Dictionary<object, object?> { ["Name"] = release },
            ["Chart"] = new Dictionary<object, object?> { ["Name"] = chart["name"], ["Version"] = chart["version"], ["AppVersion"] = chart["appVersion"] },
        };
        foreach (var file in Directory.EnumerateFiles(Path.Combine(chartDir, "templates"), "*.tpl")) Parse(File.ReadAllText(file));
        Templates = Directory.EnumerateFiles(Path.Combine(chartDir, "templates"), "*.yaml").ToDictionary(f => Path.GetFileName(f), File.ReadAllText);
    }

    public Dictionary<string, string> Templates { get; }

    public static T Yaml<T>(string text) => new DeserializerBuilder().Build().Deserialize<T>(text);

    /// <summary>Each template's output (empty when a condition left nothing).</summary>
    public Dictionary<string, string> RenderAll() => Templates.ToDictionary(t => t.Key, t => Render(t.Value).Trim());

    public string Render(string template)
    {
        var output = new StringBuilder();
        Run(Parse(template), _root, new Dictionary<string, object?>(), output);
        return output.ToString();
    }

    // ---- parsing: text and actions, trimmed as {{- and -}} ask, into a tree of blocks ----
    private abstract record Node;
    private sealed record Text(string Value) : Node;
    private sealed record Action(string Pipeline) : Node;
    private sealed record Block(string Kind, string Argument, List<Node> Body, List<Node>? Else) : Node;

    private List<Node> Parse(string template)
    {
        var tokens = new List<(bool IsAction, string Text)>();
        int at = 0;
        while (at < template.Length)
        {
            int open = template.IndexOf("{{", at, StringComparison.Ordinal);
            if (open < 0) { tokens.Add((false, template[at..])); break; }
            string text = template[at..open];
            int close = template.IndexOf("}}", open, StringComparison.Ordinal);
            string action = template[(open + 2)..close];
            if (action.StartsWith('-')) { text = text.TrimEnd(); action = action[1..]; }
            bool trimAfter = action.EndsWith('-');
            if (trimAfter) action = action[..^1];
            tokens.Add((false, text));
            tokens.Add((true, action.Trim()));
            at = close + 2;
            if (trimAfter) while (at < template.Length && char.IsWhiteSpace(template[at])) at++;
        }
        int index = 0;
        var nodes = ParseBlock(tokens, ref index, out _);
        return nodes;
    }

    private List<Node> ParseBlock(List<(bool IsAction, string Text)> tokens, ref int index, out string? stop)
    {
        var nodes = new List<Node>();
        while (index < tokens.Count)
        {
            var (isAction, text) = tokens[index++];
            if (!isAction) { if (text.Length > 0) nodes.Add(new Text(text)); continue; }
            if (text.StartsWith("/*", StringComparison.Ordinal)) continue;
            if (text is "end" or "else") { stop = text; return nodes; }
            string word = text.Split(' ', 2)[0];
            if (word is "if" or "with" or "range" or "define")
            {
                string argument = text[word.Length..].Trim();
                var body = ParseBlock(tokens, ref index, out var ended);
                List<Node>? otherwise = null;
                if (ended == "else") otherwise = ParseBlock(tokens, ref index, out _);
                if (word == "define") _defines[argument.Trim('"')] = body;
                else nodes.Add(new Block(word, argument, body, otherwise));
                continue;
            }
            nodes.Add(new Action(text));
        }
        stop = null;
        return nodes;
    }

    // ---- running ----
    private void Run(List<Node> nodes, object? dot, Dictionary<string, object?> vars, StringBuilder output)
    {
        foreach (var node in nodes)
        {
            switch (node)
            {
                case Text text: output.Append(text.Value); break;
                case Action action: output.Append(Show(Pipeline(action.Pipeline, dot, vars))); break;
                case Block { Kind: "if" } b:
                    Run(Truthy(Pipeline(b.Argument, dot, vars)) ? b.Body : b.Else ?? [], dot, vars, output);
                    break;
                case Block { Kind: "with" } b:
                    var value = Pipeline(b.Argument, dot, vars);
                    if (Truthy(value)) Run(b.Body, value, vars, output);
                    else if (b.Else is not null) Run(b.Else, dot, vars, output);
                    break;
                case Block { Kind: "range" } b:
                    // range $k, $v := X
                    var parts = b.Argument.Split(":=", 2);
                    var names = parts[0].Split(',', StringSplitOptions.TrimEntries);
                    var source = Pipeline(parts[1].Trim(), dot, vars);
                    if (source is IDictionary map)
                        foreach (DictionaryEntry entry in map)
                        {
                            vars[names[0]] = entry.Key;
                            vars[names[^1]] = entry.Value;
                            Run(b.Body, dot, vars, output);
                        }
                    else if (source is IList list)
                        for (int i = 0; i < list.Count; i++)
                        {
                            vars[names[0]] = i;
                            vars[names[^1]] = list[i];
                            Run(b.Body, dot, vars, output);
                        }
                    break;
                default: throw new NotSupportedException($"template block {node}");
            }
        }
    }

    private object? Pipeline(string pipeline, object? dot, Dictionary<string, object?> vars)
    {
        object? value = null;
        bool first = true;
        foreach (var command in SplitOutsideQuotes(pipeline, '|'))
        {
            var words = Words(command.Trim());
            var args = words.Skip(1).Select(w => Operand(w, dot, vars)).ToList();
            if (!first) args.Add(value);
            value = words[0] switch
            {
                "include" => Include((string)args[0]!, args[1]),
                "quote" => JsonSerializer.Serialize(Show(args[0])),
                "nindent" => "\n" + Indent(Show(args[1]), int.Parse((string)args[0]!, CultureInfo.InvariantCulture)),
                "default" => Truthy(args[1]) ? args[1] : args[0],
                "required" => Truthy(args[1]) ? args[1] : throw new InvalidOperationException("required: " + args[0]),
                "toYaml" => new SerializerBuilder().Build().Serialize(args[0]).TrimEnd(),
                "toJson" => JsonSerializer.Serialize(Plain(args[0])),
                "not" => !Truthy(args[0]),
                _ when first && words.Count == 1 => Operand(words[0], dot, vars),
                _ => throw new NotSupportedException($"template function '{words[0]}' in '{pipeline}'"),
            };
            first = false;
        }
        return value;
    }

    private string Include(string name, object? dot)
    {
        if (!_defines.TryGetValue(name, out var body)) throw new InvalidOperationException($"no template named '{name}'");
        var output = new StringBuilder();
        Run(body, dot, [], output);
        return output.ToString();
    }

    private object? Operand(string word, object? dot, Dictionary<string, object?> vars)
    {
        if (word.StartsWith('"')) return JsonSerializer.Deserialize<string>(word);
        if (char.IsDigit(word[0])) return word;
        if (word.StartsWith('$')) return vars.TryGetValue(word, out var v) ? v : throw new InvalidOperationException($"no variable {word}");
        if (word == ".") return dot;
        if (word.StartsWith('.'))
        {
            object? current = dot;
            // A path from the chart's root (.Values, .Release, .Chart) inside a with/range block is a Helm mistake: refused.
            foreach (var field in word[1..].Split('.'))
                current = current switch
                {
                    Dictionary<string, object?> root => root.TryGetValue(field, out var x) ? x : throw new InvalidOperationException($"no field {field} in {word}"),
                    IDictionary map => map.Contains(field) ? map[field] : null,
                    _ => throw new InvalidOperationException($"{word}: cannot read {field} of {current}"),
                };
            return current;
        }
        return Pipeline(word, dot, vars);
    }

    private static List<string> Words(string command)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        bool quoted = false;
        foreach (char c in command)
        {
            if (c == '"') quoted = !quoted;
            if (c == ' ' && !quoted)
            {
                if (current.Length > 0) words.Add(current.ToString());
                current.Clear();
                continue;
            }
            current.Append(c);
        }
        if (current.Length > 0) words.Add(current.ToString());
        return words;
    }

    private static IEnumerable<string> SplitOutsideQuotes(string text, char separator)
    {
        var current = new StringBuilder();
        bool quoted = false;
        foreach (char c in text)
        {
            if (c == '"') quoted = !quoted;
            if (c == separator && !quoted)
            {
                yield return current.ToString();
                current.Clear();
                continue;
            }
            current.Append(c);
        }
        yield return current.ToString();
    }

    private static bool Truthy(object? value) => value switch
    {
        null => false,
        bool b => b,
        string s => s.Length > 0 && s is not ("false" or "0" or "~" or "null"),
        ICollection c => c.Count > 0,
        _ => true,
    };

    private static string Show(object? value) => value switch
    {
        null => "",
        bool b => b ? "true" : "false",
        string s => s,
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    private static string Indent(string text, int spaces)
    {
        string pad = new(' ', spaces);
        return string.Join('\n', text.Split('\n').Select(line => line.Length == 0 ? line : pad + line));
    }

    private static IEnumerable<DictionaryEntry> Entries(IDictionary map)
    {
        foreach (DictionaryEntry entry in map) yield return entry;
    }

    /// <summary>A YAML value as JSON would have it: numbers and booleans from their text.</summary>
    private static object? Plain(object? value) => value switch
    {
        IDictionary map => Entries(map).ToDictionary(e => e.Key.ToString()!, e => Plain(e.Value)),
        IList list => list.Cast<object?>().Select(Plain).ToList(),
        string s when s is "true" or "false" => s == "true",
        string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) => n,
        _ => value,
    };
}
