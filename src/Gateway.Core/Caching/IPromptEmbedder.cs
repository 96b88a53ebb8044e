namespace Gateway.Core.Caching;

/// <summary>Turns a prompt into a unit-length vector for the semantic cache.</summary>
public interface IPromptEmbedder
{
    /// <summary>Who embeds: <c>local</c>, or the model asked.</summary>
    string Name { get; }

    /// <exception cref="EmbedderException">The embedder could not answer (not installed, crashed, its provider failed).</exception>
    ValueTask<float[]> EmbedAsync(string prompt, CancellationToken cancellationToken);
}

public sealed class EmbedderException(string message, Exception? inner = null) : Exception(message, inner);
