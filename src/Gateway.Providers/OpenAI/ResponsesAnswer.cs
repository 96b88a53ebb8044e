using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Core.Errors;
using Gateway.Core.Protocol;

namespace Gateway.Providers.OpenAI;

/// <summary>One output item of a Responses answer: a message's text, or a function call.</summary>
internal sealed class ResponsesItem(string type, string id)
{
    public string Type { get; } = type;
    public string Id { get; } = id;
    public StringBuilder Text { get; } = new();
    public string CallId { get; init; } = "";
    public string Name { get; init; } = "";
    public bool Done { get; set; }

    public const string Message = "message", FunctionCall = "function_call", Reasoning = "reasoning";

    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("id"u8, Id);
        w.WriteString("type"u8, Type);
        switch (Type)
        {
            case Message:
                w.WriteString("status"u8, Done ? "completed"u8 : "in_progress"u8);
                w.WriteString("role"u8, "assistant"u8);
                w.WriteStartArray("content"u8);
                if (Done) ResponsesAnswer.WriteTextPart(w, Text.ToString());
                w.WriteEndArray();
                break;
            case FunctionCall:
                w.WriteString("status"u8, Done ? "completed"u8 : "in_progress"u8);
                w.WriteString("call_id"u8, CallId);
                w.WriteString("name"u8, Name);
                w.WriteString("arguments"u8, Done ? Text.ToString() : "");
                break;
            default: // reasoning
                w.WriteStartArray("summary"u8);
                if (Done) ResponsesAnswer.WriteSummaryPart(w, Text.ToString());
                w.WriteEndArray();
                break;
        }
        w.WriteEndObject();
    }
}

/// <summary>
/// The Responses API's <c>response</c> object, made from a canonical answer: the non-stream answer, and the
/// object the stream's <c>response.created</c> and terminal events carry. <c>max_tokens</c> cut answers are
/// <c>incomplete</c> with the reason <c>max_output_tokens</c>, as OpenAI reports them.
/// </summary>
public static class ResponsesAnswer
{
    /// <summary>An OpenAI <c>chat.completion</c> as a Responses <c>response</c>.</summary>
    public static GatewayError? Translate(ReadOnlyMemory<byte> openAiBody, string model, IBufferWriter<byte> output) =>
        Http.CanonicalAnswer.Translate(openAiBody, (model, output), static (completion, choice, state) => Write(completion, choice, state.model, state.output));

    private static GatewayError? Write(ChatCompletion completion, ChatChoice choice, string model, IBufferWriter<byte> output)
    {
        var message = choice.Message;
        string id = ResponseId(completion.Id);
        var items = new List<ResponsesItem>();
        if (!string.IsNullOrEmpty(message.ReasoningContent))
        {
            var reasoning = new ResponsesItem(ResponsesItem.Reasoning, "rs_" + Suffix(id)) { Done = true };
            reasoning.Text.Append(message.ReasoningContent);
            items.Add(reasoning);
        }
        string text = message.Text + (message.Refusal ?? "");
        if (text.Length > 0 || message.ToolCalls is not { Count: > 0 })
        {
            var item = new ResponsesItem(ResponsesItem.Message, "msg_" + Suffix(id)) { Done = true };
            item.Text.Append(text);
            items.Add(item);
        }
        int n = 0;
        foreach (var call in message.ToolCalls ?? [])
        {
            var item = new ResponsesItem(ResponsesItem.FunctionCall, $"fc_{Suffix(id)}_{n++}") { CallId = call.Id, Name = call.Function.Name, Done = true };
            item.Text.Append(call.Function.Arguments);
            items.Add(item);
        }
        using var w = new Utf8JsonWriter(output);
        WriteResponse(w, id, completion.Created > 0 ? completion.Created : DateTimeOffset.UtcNow.ToUnixTimeSeconds(), model, choice.FinishReason, items, completion.Usage, final: true);
        return null;
    }

    internal static string ResponseId(string? completionId) => "resp_" + (string.IsNullOrEmpty(completionId) ? Guid.NewGuid().ToString("N") : completionId);

    internal static string Suffix(string responseId) => responseId.StartsWith("resp_", StringComparison.Ordinal) ? responseId[5..] : responseId;

    /// <summary>Writes the <c>response</c> object; <paramref name="final"/> false: the in-progress one a stream starts with.</summary>
    internal static void WriteResponse(Utf8JsonWriter w, string id, long createdAt, string model, string? finishReason, IReadOnlyList<ResponsesItem> items, Usage? usage, bool final)
    {
        string? incomplete = !final ? null : finishReason switch
        {
            "length" => "max_output_tokens",
            "content_filter" => "content_filter",
            _ => null,
        };
        w.WriteStartObject();
        w.WriteString("id"u8, id);
        w.WriteString("object"u8, "response"u8);
        w.WriteNumber("created_at"u8, createdAt);
        w.WriteString("status"u8, !final ? "in_progress" : incomplete is null ? "completed" : "incomplete");
        w.WriteNull("error"u8);
        if (incomplete is null) w.WriteNull("incomplete_details"u8);
        else
        {
            w.WriteStartObject("incomplete_details"u8);
            w.WriteString("reason"u8, incomplete);
            w.WriteEndObject();
        }
        w.WriteString("model"u8, model);
        w.WriteStartArray("output"u8);
        foreach (var item in items) item.Write(w);
        w.WriteEndArray();
        w.WriteBoolean("parallel_tool_calls"u8, true);
        w.WriteNull("previous_response_id"u8);
        w.WriteBoolean("store"u8, false);
        w.WriteStartObject("text"u8);
        w.WriteStartObject("format"u8);
        w.WriteString("type"u8, "text"u8);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteString("tool_choice"u8, "auto"u8);
        w.WriteStartArray("tools"u8);
        w.WriteEndArray();
        w.WriteString("truncation"u8, "disabled"u8);
        w.WriteStartObject("metadata"u8);
        w.WriteEndObject();
        if (final && usage is not null) WriteUsage(w, usage);
        else w.WriteNull("usage"u8);
        w.WriteEndObject();
    }

    internal static void WriteUsage(Utf8JsonWriter w, Usage usage)
    {
        w.WriteStartObject("usage"u8);
        w.WriteNumber("input_tokens"u8, usage.PromptTokens);
        w.WriteStartObject("input_tokens_details"u8);
        w.WriteNumber("cached_tokens"u8, usage.PromptTokensDetails?.CachedTokens ?? 0);
        w.WriteEndObject();
        w.WriteNumber("output_tokens"u8, usage.CompletionTokens);
        w.WriteStartObject("output_tokens_details"u8);
        w.WriteNumber("reasoning_tokens"u8, usage.CompletionTokensDetails?.ReasoningTokens ?? 0);
        w.WriteEndObject();
        w.WriteNumber("total_tokens"u8, usage.PromptTokens + usage.CompletionTokens);
        w.WriteEndObject();
    }

    internal static void WriteSummaryPart(Utf8JsonWriter w, string text)
    {
        w.WriteStartObject();
        w.WriteString("type"u8, "summary_text"u8);
        w.WriteString("text"u8, text);
        w.WriteEndObject();
    }

    internal static void WriteTextPart(Utf8JsonWriter w, string text)
    {
        w.WriteStartObject();
        w.WriteString("type"u8, "output_text"u8);
        w.WriteString("text"u8, text);
        w.WriteStartArray("annotations"u8);
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
