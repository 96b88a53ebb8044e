namespace Gateway.Storage;

/// <summary>
/// A cache store's writes, one at a time on the thread pool: the request that stored or hit goes on at once.
/// Shared by the SQLite and PostgreSQL cache stores.
/// </summary>
internal sealed class WriteBehind(Func<Exception, bool> isStoreFailure)
{
    private readonly SemaphoreSlim _writer = new(1, 1);

    /// <summary>Runs <paramref name="write"/> after the writes before it; the task ends with it (its failure included).</summary>
    public async Task Run(Action write)
    {
        await _writer.WaitAsync().ConfigureAwait(false);
        try
        {
            await Task.Run(write).ConfigureAwait(false);
        }
        finally
        {
            _writer.Release();
        }
    }

    /// <summary>Housekeeping nobody waits for: a store failure only leaves an expired row or an older "used".</summary>
    public void Quietly(Action write) => _ = Run(() =>
    {
        try
        {
            write();
        }
        catch (Exception ex) when (isStoreFailure(ex))
        {
        }
    });

    /// <summary>Waits (bounded) for the write in progress, at disposal.</summary>
    public void Drain(TimeSpan wait) => _writer.Wait(wait);
}
