using System.Text.Json.Serialization;

namespace Gateway.Core.Protocol;

/// <summary>Source-generated serialization of the canonical types (no reflection: Native AOT).</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, MaxDepth = 256)]
[JsonSerializable(typeof(ChatRequest))]
[JsonSerializable(typeof(ChatCompletion))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(List<ContentPart>))]
[JsonSerializable(typeof(Usage))]
public sealed partial class ProtocolJson : JsonSerializerContext;
