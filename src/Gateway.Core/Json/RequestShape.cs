namespace Gateway.Core.Json;

/// <summary>
/// Where the fields the gateway cares about sit inside a request body, found in one pass without
/// building objects. Offsets are byte indexes into the body the shape was read from.
/// </summary>
public readonly struct RequestShape
{
    /// <summary>Start of the <c>model</c> string token (its opening quote).</summary>
    public int ModelStart { get; init; }
    /// <summary>End (exclusive) of the <c>model</c> string token (after its closing quote).</summary>
    public int ModelEnd { get; init; }
    /// <summary>The model string contains JSON escapes: its raw bytes are not its value.</summary>
    public bool ModelEscaped { get; init; }
    public bool Stream { get; init; }
    /// <summary>Start of the <c>stream_options</c> value, or -1 when absent.</summary>
    public int StreamOptionsStart { get; init; }
    public int StreamOptionsEnd { get; init; }
    public bool StreamOptionsIsNull { get; init; }
    public bool StreamOptionsIsEmpty { get; init; }
    /// <summary>The client itself asked for <c>stream_options.include_usage: true</c>.</summary>
    public bool ClientWantsUsage { get; init; }
    /// <summary>Start of the <c>include_usage</c> value inside stream_options, or -1 when absent.</summary>
    public int IncludeUsageStart { get; init; }
    public int IncludeUsageEnd { get; init; }
    /// <summary>Index of the closing brace of the root object.</summary>
    public int RootEnd { get; init; }

    /// <summary>The model's raw bytes between the quotes (still escaped when <see cref="ModelEscaped"/>).</summary>
    public ReadOnlySpan<byte> RawModel(ReadOnlySpan<byte> body) => body[(ModelStart + 1)..(ModelEnd - 1)];

    /// <summary>
    /// The model's value, JSON escapes decoded: what routing, key checks and policy bindings all read,
    /// so <c>"openai\/gpt-4o"</c> is the same model to each of them as <c>"openai/gpt-4o"</c>.
    /// </summary>
    public string Model(ReadOnlySpan<byte> body)
    {
        if (!ModelEscaped) return System.Text.Encoding.UTF8.GetString(RawModel(body));
        var reader = new System.Text.Json.Utf8JsonReader(body[ModelStart..ModelEnd]);
        reader.Read();
        return reader.GetString() ?? "";
    }
}
