using System.Buffers;
using System.Text.Json;
using Gateway.Core.Errors;

namespace Gateway.Providers.Gemini;

/// <summary>
/// Errors in the Gemini API's shape (<c>google.rpc.Status</c> as JSON), for clients of the Gemini routes:
/// <c>@google/genai</c> makes its <c>ApiError</c> of this body, its status from <c>code</c>.
/// </summary>
public static class GeminiErrors
{
    /// <summary>The name of Gemini's error shape, as <see cref="GatewayError.RawBodyFormat"/> carries it.</summary>
    public const string Format = "gemini";

    /// <summary>The <c>google.rpc.Code</c> name Google's APIs give an HTTP status.</summary>
    public static string StatusFor(int status) => status switch
    {
        400 or 413 or 422 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        405 => "UNIMPLEMENTED",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        502 or 503 or 529 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION",
    };

    /// <summary><c>{"error":{"code":..,"message":..,"status":..}}</c></summary>
    public static byte[] ToBytes(GatewayError error)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        Write(buffer, error);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A broken stream ends with one more <c>data:</c> event holding the error, which <c>@google/genai</c> raises.</summary>
    public static void WriteSseEvent(IBufferWriter<byte> output, GatewayError error)
    {
        output.Write("data: "u8);
        Write(output, error);
        output.Write("\r\n\r\n"u8);
    }

    private static void Write(IBufferWriter<byte> output, GatewayError error)
    {
        using var w = new Utf8JsonWriter(output);
        w.WriteStartObject();
        w.WriteStartObject("error"u8);
        w.WriteNumber("code"u8, error.Status);
        w.WriteString("message"u8, error.Message);
        w.WriteString("status"u8, StatusFor(error.Status));
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
