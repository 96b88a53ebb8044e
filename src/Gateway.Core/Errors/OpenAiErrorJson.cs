using System.Buffers;
using System.Text.Json;

namespace Gateway.Core.Errors;

/// <summary>Writes errors in the OpenAI wire shape, which every OpenAI SDK turns into its typed errors.</summary>
public static class OpenAiErrorJson
{
    /// <summary>The canonical error shape's name, as <see cref="GatewayError.RawBodyFormat"/> and the dialects use it.</summary>
    public const string Format = "canonical";

    /// <summary><c>{"error":{"message":..,"type":..,"param":null,"code":..}}</c></summary>
    public static void Write(IBufferWriter<byte> output, GatewayError error)
    {
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        WriteErrorObject(writer, error);
        writer.WriteEndObject();
    }

    /// <summary>An SSE event carrying the error, sent when a stream fails after its headers went out.</summary>
    public static void WriteSseEvent(IBufferWriter<byte> output, GatewayError error)
    {
        output.Write("data: "u8);
        Write(output, error);
        output.Write("\n\n"u8);
    }

    public static byte[] ToBytes(GatewayError error)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        Write(buffer, error);
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteErrorObject(Utf8JsonWriter writer, GatewayError error)
    {
        writer.WriteStartObject("error"u8);
        writer.WriteString("message"u8, error.Message);
        writer.WriteString("type"u8, error.Type);
        writer.WriteNull("param"u8);
        writer.WriteString("code"u8, error.Code);
        writer.WriteEndObject();
    }
}
