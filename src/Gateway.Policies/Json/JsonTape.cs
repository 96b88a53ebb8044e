using System.Text.Json;

namespace Gateway.Policies.Json;

/// <summary>
/// One validating pass over a JSON document, kept as a flat list of its tokens with their byte ranges,
/// so any object or array in it can later be read member by member without scanning it again. The
/// lists are reused from call to call.
/// </summary>
internal sealed class JsonTape
{
    /// <summary>One token: a value (with the token after it, so a whole subtree is skipped in one step), a member name, or a container's end.</summary>
    internal struct Token
    {
        public JsonTokenType Type;

        /// <summary>Where the token starts: a string's or name's opening quote, a container's bracket.</summary>
        public int Start;

        /// <summary>Just past the token: past a string's closing quote, past a container's closing bracket.</summary>
        public int End;

        /// <summary>The index of the token that follows this value (for a container, the one after its end).</summary>
        public int Next;

        /// <summary>A string or member name holding escapes (decoded by JSON.parse's rules, not copied).</summary>
        public bool Escaped;
    }

    private Token[] _tokens = new Token[64];
    private int[] _open = new int[16];

    public int Count { get; private set; }

    public ref Token this[int index] => ref _tokens[index];

    /// <summary>Lets go of lists a large document grew (kept for the next call otherwise).</summary>
    public void Trim()
    {
        if (_tokens.Length > 4096) _tokens = new Token[64];
        if (_open.Length > 256) _open = new int[16];
        Count = 0;
    }

    /// <summary>Reads <paramref name="json"/> whole. False when it is not one well-formed JSON value within <paramref name="maxDepth"/>.</summary>
    public bool TryRead(ReadOnlySpan<byte> json, int maxDepth)
    {
        Count = 0;
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = maxDepth, CommentHandling = JsonCommentHandling.Disallow });
        int depth = 0;
        try
        {
            while (reader.Read())
            {
                if (Count == _tokens.Length) Array.Resize(ref _tokens, _tokens.Length * 2);
                ref var token = ref _tokens[Count];
                token.Type = reader.TokenType;
                token.Start = (int)reader.TokenStartIndex;
                token.Escaped = false;
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                    case JsonTokenType.StartArray:
                        if (depth == _open.Length) Array.Resize(ref _open, _open.Length * 2);
                        _open[depth++] = Count;
                        break;
                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        token.End = token.Start + 1;
                        token.Next = Count + 1;
                        ref var opened = ref _tokens[_open[--depth]];
                        opened.End = token.End;
                        opened.Next = Count + 1;
                        break;
                    case JsonTokenType.String:
                    case JsonTokenType.PropertyName:
                        token.End = token.Start + reader.ValueSpan.Length + 2;
                        token.Escaped = reader.ValueIsEscaped;
                        token.Next = Count + 1;
                        break;
                    default:
                        token.End = token.Start + reader.ValueSpan.Length;
                        token.Next = Count + 1;
                        break;
                }
                Count++;
            }
            // The reader refuses anything after the one value itself (the block is final).
            return Count > 0 && depth == 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
