using System.Buffers;

namespace Gateway.Core.Json;

/// <summary>
/// Produces the upstream body from the client's body by splicing bytes: the model value is replaced
/// and, for streams, <c>stream_options.include_usage</c> is switched on so usage can be metered.
/// Every other byte is copied untouched.
/// </summary>
public static class RequestRewriter
{
    private static ReadOnlySpan<byte> AppendStreamOptions => ",\"stream_options\":{\"include_usage\":true}"u8;
    private static ReadOnlySpan<byte> StreamOptionsObject => "{\"include_usage\":true}"u8;
    private static ReadOnlySpan<byte> IncludeUsageFirst => "\"include_usage\":true,"u8;
    private static ReadOnlySpan<byte> IncludeUsageOnly => "\"include_usage\":true"u8;

    /// <summary>Upper bound of the bytes <see cref="Rewrite"/> writes, for pre-sizing.</summary>
    public static int MaxOutputLength(int bodyLength, int upstreamModelLength) =>
        bodyLength + upstreamModelLength + AppendStreamOptions.Length + 2;

    /// <param name="body">The client's body, already validated by <see cref="RequestInspector"/>.</param>
    /// <param name="shape">Its shape.</param>
    /// <param name="upstreamModelJson">The upstream model id as JSON string content (escaped, no quotes).</param>
    /// <param name="ensureUsage">Switch on <c>stream_options.include_usage</c> (streams only).</param>
    /// <param name="output">Where the new body goes.</param>
    public static void Rewrite(ReadOnlySpan<byte> body, in RequestShape shape, ReadOnlySpan<byte> upstreamModelJson, bool ensureUsage, IBufferWriter<byte> output)
    {
        // At most two edits: the model, and one stream_options change. Apply in position order.
        int usageAt = -1, usageEnd = -1;
        ReadOnlySpan<byte> usageBytes = default;
        if (ensureUsage && !shape.ClientWantsUsage)
        {
            if (shape.StreamOptionsStart < 0)
            {
                usageAt = usageEnd = shape.RootEnd;
                usageBytes = AppendStreamOptions;
            }
            else if (shape.StreamOptionsIsNull)
            {
                usageAt = shape.StreamOptionsStart;
                usageEnd = shape.StreamOptionsEnd;
                usageBytes = StreamOptionsObject;
            }
            else if (shape.IncludeUsageStart >= 0)
            {
                usageAt = shape.IncludeUsageStart;
                usageEnd = shape.IncludeUsageEnd;
                usageBytes = "true"u8;
            }
            else
            {
                usageAt = usageEnd = shape.StreamOptionsStart + 1;
                usageBytes = shape.StreamOptionsIsEmpty ? IncludeUsageOnly : IncludeUsageFirst;
            }
        }

        if (usageAt >= 0 && usageAt < shape.ModelStart)
        {
            Write(output, body[..usageAt]);
            Write(output, usageBytes);
            Write(output, body[usageEnd..shape.ModelStart]);
            WriteModel(output, upstreamModelJson);
            Write(output, body[shape.ModelEnd..]);
            return;
        }

        Write(output, body[..shape.ModelStart]);
        WriteModel(output, upstreamModelJson);
        if (usageAt >= 0)
        {
            Write(output, body[shape.ModelEnd..usageAt]);
            Write(output, usageBytes);
            Write(output, body[usageEnd..]);
        }
        else
        {
            Write(output, body[shape.ModelEnd..]);
        }
    }

    private static void WriteModel(IBufferWriter<byte> output, ReadOnlySpan<byte> model)
    {
        var span = output.GetSpan(model.Length + 2);
        span[0] = (byte)'"';
        model.CopyTo(span[1..]);
        span[model.Length + 1] = (byte)'"';
        output.Advance(model.Length + 2);
    }

    private static void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty) return;
        bytes.CopyTo(output.GetSpan(bytes.Length));
        output.Advance(bytes.Length);
    }

    /// <summary>
    /// Copies <paramref name="json"/> to <paramref name="output"/> with the top-level property
    /// <paramref name="from"/> renamed <paramref name="to"/> (nested properties and string contents
    /// untouched); false, writing nothing, when there is no such top-level property or <paramref name="to"/> is already there.
    /// </summary>
    public static bool RenameTopLevel(ReadOnlySpan<byte> json, ReadOnlySpan<byte> from, ReadOnlySpan<byte> to, IBufferWriter<byte> output)
    {
        var reader = new System.Text.Json.Utf8JsonReader(json, new System.Text.Json.JsonReaderOptions { MaxDepth = 256 });
        int nameStart = -1, nameEnd = -1;
        while (reader.Read())
        {
            if (reader.TokenType != System.Text.Json.JsonTokenType.PropertyName || reader.CurrentDepth != 1) continue;
            if (reader.ValueTextEquals(to)) return false;
            if (nameStart < 0 && reader.ValueTextEquals(from))
            {
                // The token's quotes included: TokenStartIndex is the opening quote.
                nameStart = (int)reader.TokenStartIndex;
                nameEnd = nameStart + reader.ValueSpan.Length + 2;
            }
            reader.Skip();
        }
        if (nameStart < 0) return false;
        output.Write(json[..nameStart]);
        output.Write("\""u8);
        output.Write(to);
        output.Write("\""u8);
        output.Write(json[nameEnd..]);
        return true;
    }
}
