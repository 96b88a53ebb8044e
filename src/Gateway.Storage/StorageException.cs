namespace Gateway.Storage;

/// <summary>The store cannot be used for a reason an operator fixes (a path, a version, a file): one line says which.</summary>
public sealed class StorageException(string message, Exception? inner = null) : Exception(message, inner);
