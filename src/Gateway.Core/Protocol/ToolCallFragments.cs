using System.Text;

namespace Gateway.Core.Protocol;

/// <summary>
/// A streamed answer's tool calls joined from their fragments, by index: the first fragment that names an
/// id or a name gives it, the arguments' pieces are appended in order.
/// </summary>
public sealed class ToolCallFragments
{
    private readonly SortedDictionary<int, (string Id, string Name, StringBuilder Arguments)> _calls = [];

    public int Count => _calls.Count;

    public void Add(List<ToolCallDelta>? fragments)
    {
        foreach (var fragment in fragments ?? [])
        {
            if (!_calls.TryGetValue(fragment.Index, out var known)) _calls[fragment.Index] = known = ("", "", new StringBuilder());
            if (known.Id.Length == 0 && fragment.Id is { Length: > 0 } id) _calls[fragment.Index] = known = known with { Id = id };
            if (known.Name.Length == 0 && fragment.Function?.Name is { Length: > 0 } name) _calls[fragment.Index] = known = known with { Name = name };
            known.Arguments.Append(fragment.Function?.Arguments);
        }
    }

    /// <summary>The calls, whole, in the order of their indexes.</summary>
    public IEnumerable<ToolCall> Calls => _calls.Values.Select(c => ToolCall.Of(c.Id, c.Name, c.Arguments.ToString()));
}
