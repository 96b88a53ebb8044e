using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Core;
using Gateway.Core.Caching;
using Gateway.Core.Providers;

namespace Gateway.Server.Caching;

/// <summary>
/// The semantic cache's embedder when it names a model the gateway serves (<c>provider/model</c> or an
/// alias): the provider is asked directly, with OpenAI's embeddings request, and the first vector read.
/// An alias is asked of its first deployment: the vectors of one index must all come from one model.
/// </summary>
internal sealed class ProviderEmbedder(string model, Func<GatewaySnapshot> snapshot) : IPromptEmbedder
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private const int MaxAnswerBytes = 4 * 1024 * 1024;

    public string Name => model;

    public async ValueTask<float[]> EmbedAsync(string prompt, CancellationToken cancellationToken)
    {
        var (provider, upstreamModel) = Resolve(snapshot()) ?? throw new EmbedderException($"the embedder '{model}' names no model this configuration serves");
        var body = new ArrayBufferWriter<byte>(prompt.Length + 64);
        using (var w = new Utf8JsonWriter(body))
        {
            w.WriteStartObject();
            w.WriteString("model"u8, upstreamModel);
            w.WriteString("input"u8, prompt);
            w.WriteEndObject();
        }
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(Timeout);
        UpstreamResult result;
        try
        {
            result = await provider.SendAsync(new ProviderCall(ProviderOperation.Embeddings, body.WrittenMemory, Encoding.UTF8.GetBytes(upstreamModel), false), limit.Token)
                .ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException or IOException)
        {
            throw new EmbedderException($"the embedder '{model}' did not answer: {ex.Message}", ex);
        }
        if (result.Response is not { } response)
            throw new EmbedderException($"the embedder '{model}' failed: {result.Error?.Message ?? "no answer"}");
        using (response)
        {
            if (response.Status is < 200 or >= 300) throw new EmbedderException($"the embedder '{model}' answered {response.Status}");
            try
            {
                using var answer = new MemoryStream();
                await response.Body.CopyToAsync(answer, limit.Token).ConfigureAwait(false);
                if (answer.Length > MaxAnswerBytes) throw new EmbedderException($"the embedder '{model}' answered more than {MaxAnswerBytes} bytes");
                return Read(answer.GetBuffer().AsSpan(0, (int)answer.Length)) ?? throw new EmbedderException($"the embedder '{model}' answered no vector");
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException)
            {
                throw new EmbedderException($"the embedder '{model}' broke off: {ex.Message}", ex);
            }
        }
    }

    private (IProvider Provider, string Model)? Resolve(GatewaySnapshot current)
    {
        if (current.Groups.TryGetValue(model, out var group) && group.Deployments.Length > 0)
            return (group.Deployments[0].Target.Provider, group.Deployments[0].Target.Model);
        int slash = model.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 && current.Providers.TryGetValue(model[..slash], out var provider) ? (provider, model[(slash + 1)..]) : null;
    }

    /// <summary>The first vector of an OpenAI embeddings answer: <c>data[0].embedding</c>.</summary>
    internal static float[]? Read(ReadOnlySpan<byte> answer)
    {
        try
        {
            var reader = new Utf8JsonReader(answer);
            using var document = JsonDocument.ParseValue(ref reader);
            if (!document.RootElement.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array || data.GetArrayLength() == 0
                || !data[0].TryGetProperty("embedding", out var embedding) || embedding.ValueKind != JsonValueKind.Array) return null;
            var vector = new float[embedding.GetArrayLength()];
            int i = 0;
            foreach (var value in embedding.EnumerateArray()) vector[i++] = value.GetSingle();
            return vector;
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            return null;
        }
    }
}
