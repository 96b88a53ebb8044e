using System.Buffers;
using System.Text.Json;
using Gateway.Core.Errors;

namespace Gateway.Providers.Anthropic;

/// <summary>Errors in Anthropic's shape, for clients of <c>/v1/messages</c>: the Anthropic SDKs type them by status and <c>error.type</c>.</summary>
public static class AnthropicErrors
{
    /// <summary>The name of Anthropic's error shape, as <see cref="GatewayError.RawBodyFormat"/> carries it.</summary>
    public const string Format = "anthropic";

    public static string TypeFor(int status) => status switch
    {
        400 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        _ => status >= 500 ? "api_error" : "invalid_request_error",
    };

    /// <summary><c>{"type":"error","error":{"type":..,"message":..},"request_id":null}</c></summary>
    public static byte[] ToBytes(GatewayError error)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        Write(buffer, error);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The <c>error</c> event that ends a broken stream; the SDKs raise it.</summary>
    public static void WriteSseEvent(IBufferWriter<byte> output, GatewayError error)
    {
        output.Write("event: error\ndata: "u8);
        Write(output, error);
        output.Write("\n\n"u8);
    }

    private static void Write(IBufferWriter<byte> output, GatewayError error)
    {
        using var w = new Utf8JsonWriter(output);
        w.WriteStartObject();
        w.WriteString("type"u8, "error"u8);
        w.WriteStartObject("error"u8);
        w.WriteString("type"u8, TypeFor(error.Status));
        w.WriteString("message"u8, error.Message);
        w.WriteEndObject();
        w.WriteNull("request_id"u8);
        w.WriteEndObject();
    }
}
