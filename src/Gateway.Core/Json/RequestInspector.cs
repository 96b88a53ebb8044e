using System.Text.Json;
using System.Text.Unicode;
using Gateway.Core.Errors;

namespace Gateway.Core.Json;

/// <summary>
/// Validates a request body (UTF-8, JSON syntax, required fields) and locates the fields the
/// passthrough path rewrites, in a single forward pass with <see cref="Utf8JsonReader"/>.
/// Nothing is deserialized; nothing is allocated on success.
/// </summary>
public static class RequestInspector
{
    /// <summary>
    /// How deep a request's JSON may nest: deeply nested JSON schemas (tools, response_format) exceed
    /// the reader's default of 64. Policies read requests with the same limit, so whatever the gateway
    /// accepts a policy can see.
    /// </summary>
    public const int MaxDepth = 256;

    public static GatewayError? Inspect(ReadOnlySpan<byte> body, RequestKind kind, out RequestShape shape)
    {
        shape = default;
        if (body.IsEmpty)
            return GatewayError.BadRequest("The request body is empty; a JSON object is expected.", "invalid_json");
        if (!Utf8.IsValid(body))
            return GatewayError.BadRequest("The request body is not valid UTF-8.", "invalid_encoding");

        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = MaxDepth, CommentHandling = JsonCommentHandling.Disallow });
        try
        {
            return Scan(ref reader, kind, out shape);
        }
        catch (JsonException ex)
        {
            return GatewayError.BadRequest(
                $"The request body is not valid JSON (line {(ex.LineNumber ?? 0) + 1}, byte {(ex.BytePositionInLine ?? 0) + 1}).", "invalid_json");
        }
    }

    private static GatewayError? Scan(ref Utf8JsonReader reader, RequestKind kind, out RequestShape shape)
    {
        shape = default;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            return GatewayError.BadRequest("The request body must be a JSON object.", "invalid_json");

        int modelStart = -1, modelEnd = -1, streamOptionsStart = -1, streamOptionsEnd = -1;
        int includeUsageStart = -1, includeUsageEnd = -1;
        bool modelEscaped = false, stream = false, wantsUsage = false, optionsNull = false, optionsEmpty = false;
        bool seenStream = false, seenMessages = false, seenInput = false;
        JsonTokenType messagesType = JsonTokenType.None;
        int messagesCount = 0;

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("model"u8))
            {
                if (modelStart >= 0) return Duplicate("model");
                reader.Read();
                if (reader.TokenType != JsonTokenType.String)
                    return GatewayError.BadRequest("'model' must be a string.", "invalid_model");
                modelStart = (int)reader.TokenStartIndex;
                modelEnd = (int)reader.BytesConsumed;
                modelEscaped = reader.ValueIsEscaped;
            }
            else if (reader.ValueTextEquals("stream"u8))
            {
                if (seenStream) return Duplicate("stream");
                seenStream = true;
                reader.Read();
                if (reader.TokenType is JsonTokenType.True) stream = true;
                else if (reader.TokenType is not (JsonTokenType.False or JsonTokenType.Null))
                    return GatewayError.BadRequest("'stream' must be a boolean.", "invalid_stream");
            }
            else if (reader.ValueTextEquals("stream_options"u8))
            {
                if (streamOptionsStart >= 0) return Duplicate("stream_options");
                reader.Read();
                streamOptionsStart = (int)reader.TokenStartIndex;
                if (reader.TokenType == JsonTokenType.Null)
                {
                    optionsNull = true;
                }
                else if (reader.TokenType == JsonTokenType.StartObject)
                {
                    optionsEmpty = true;
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        optionsEmpty = false;
                        bool isIncludeUsage = reader.ValueTextEquals("include_usage"u8);
                        reader.Read();
                        if (isIncludeUsage)
                        {
                            if (includeUsageStart >= 0) return Duplicate("stream_options.include_usage");
                            includeUsageStart = (int)reader.TokenStartIndex;
                            includeUsageEnd = (int)reader.BytesConsumed;
                            if (reader.TokenType == JsonTokenType.True) wantsUsage = true;
                            else if (reader.TokenType is not (JsonTokenType.False or JsonTokenType.Null))
                                return GatewayError.BadRequest("'stream_options.include_usage' must be a boolean.", "invalid_stream_options");
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }
                }
                else
                {
                    return GatewayError.BadRequest("'stream_options' must be an object.", "invalid_stream_options");
                }
                streamOptionsEnd = (int)reader.BytesConsumed;
            }
            else if (reader.ValueTextEquals("messages"u8))
            {
                if (seenMessages) return Duplicate("messages");
                seenMessages = true;
                reader.Read();
                messagesType = reader.TokenType;
                if (messagesType == JsonTokenType.StartArray)
                {
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        messagesCount++;
                        reader.Skip();
                    }
                }
                else
                {
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("input"u8))
            {
                seenInput = true;
                reader.Read();
                reader.Skip();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        int rootEnd = (int)reader.TokenStartIndex;
        // Anything after the root object (a second value, garbage) makes the reader throw here.
        while (reader.Read()) { }

        if (modelStart < 0)
            return GatewayError.BadRequest("'model' is required.", "missing_model");
        if (modelEnd - modelStart <= 2)
            return GatewayError.BadRequest("'model' must not be empty.", "invalid_model");

        if (kind == RequestKind.ChatCompletions)
        {
            if (!seenMessages)
                return GatewayError.BadRequest("'messages' is required.", "missing_messages");
            if (messagesType != JsonTokenType.StartArray)
                return GatewayError.BadRequest("'messages' must be an array.", "invalid_messages");
            if (messagesCount == 0)
                return GatewayError.BadRequest("'messages' must contain at least one message.", "invalid_messages");
            if (streamOptionsStart >= 0 && !optionsNull && !stream)
                return GatewayError.BadRequest("'stream_options' is only allowed when 'stream' is true.", "invalid_stream_options");
        }
        else if (kind is (RequestKind.Embeddings or RequestKind.Responses) && !seenInput)
        {
            return GatewayError.BadRequest("'input' is required.", "missing_input");
        }

        shape = new RequestShape
        {
            ModelStart = modelStart,
            ModelEnd = modelEnd,
            ModelEscaped = modelEscaped,
            Stream = stream,
            StreamOptionsStart = streamOptionsStart,
            StreamOptionsEnd = streamOptionsEnd,
            StreamOptionsIsNull = optionsNull,
            StreamOptionsIsEmpty = optionsEmpty,
            ClientWantsUsage = wantsUsage,
            IncludeUsageStart = includeUsageStart,
            IncludeUsageEnd = includeUsageEnd,
            RootEnd = rootEnd,
        };
        return null;
    }

    // A second "model" would be routed by us and billed by the provider as a different one.
    private static GatewayError Duplicate(string field) =>
        GatewayError.BadRequest($"'{field}' appears more than once in the request body.", "duplicate_field");
}
