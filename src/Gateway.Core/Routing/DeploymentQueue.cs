namespace Gateway.Core.Routing;

/// <summary>How urgent a request is: its key's default, lowered (never raised) by <c>x-gateway-priority</c>.</summary>
public enum RequestPriority
{
    Low = 0,
    Normal = 1,
    High = 2,
}

/// <summary>Why a request could not get a slot on a full deployment.</summary>
public enum QueueRefusal
{
    None,

    /// <summary>The queue was full of requests at least as urgent.</summary>
    Full,

    /// <summary>A more urgent request took its place in a full queue.</summary>
    Shed,

    /// <summary>No slot freed up within the group's longest wait.</summary>
    TimedOut,
}

/// <summary>
/// The requests waiting for a slot on one full deployment: a freed slot goes to the most urgent
/// waiter, first come first served within a priority. Bounded: when full, a more urgent arrival
/// sheds the newest of the least urgent; otherwise the arrival is refused. Low priority goes first.
/// </summary>
/// <param name="time">The clock the longest wait runs on.</param>
internal sealed class DeploymentQueue(TimeProvider time)
{
    private readonly Lock _gate = new();
    private readonly LinkedList<Waiter>[] _byPriority = [new(), new(), new()];
    private int _count;

    private sealed class Waiter(RequestPriority priority, int tokens)
    {
        public RequestPriority Priority { get; } = priority;
        public int Tokens { get; } = tokens;
        public TaskCompletionSource<QueueRefusal> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public LinkedListNode<Waiter>? Node { get; set; }
    }

    public int Count => Volatile.Read(ref _count);

    /// <summary>Waits for a slot handed over by <see cref="TryHandOver"/> or <see cref="HandOverWhile"/>; None when it got one.</summary>
    /// <param name="tokens">What the waiter will use of a per-minute token budget, for <see cref="HandOverWhile"/>.</param>
    public async Task<QueueRefusal> WaitAsync(RequestPriority priority, int maxLength, TimeSpan maxWait, CancellationToken cancellationToken, int tokens = 0)
    {
        var waiter = new Waiter(priority, tokens);
        lock (_gate)
        {
            if (_count >= maxLength)
            {
                var victim = LeastUrgent();
                if (victim is null || victim.Priority >= priority) return QueueRefusal.Full;
                Remove(victim);
                victim.Done.TrySetResult(QueueRefusal.Shed);
            }
            waiter.Node = _byPriority[(int)priority].AddLast(waiter);
            _count++;
        }
        using var timeout = new CancellationTokenSource(maxWait, time);
        using (timeout.Token.Register(() => Cancel(waiter)))
        using (cancellationToken.Register(() => Cancel(waiter)))
        {
            var result = await waiter.Done.Task.ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            return result;
        }
    }

    /// <summary>Gives a freed slot to the most urgent waiter; false when nobody waits (the slot is then simply free).</summary>
    public bool TryHandOver()
    {
        lock (_gate)
        {
            for (int p = _byPriority.Length - 1; p >= 0; p--)
            {
                var first = _byPriority[p].First;
                if (first is null) continue;
                Remove(first.Value);
                if (first.Value.Done.TrySetResult(QueueRefusal.None)) return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Hands slots to waiters, most urgent first, as long as <paramref name="admit"/> takes the next
    /// one (given its tokens); stops at the first it does not take, so a less urgent waiter never
    /// overtakes a more urgent one. How many were handed a slot.
    /// </summary>
    public int HandOverWhile(Func<int, bool> admit)
    {
        int handed = 0;
        lock (_gate)
        {
            for (int p = _byPriority.Length - 1; p >= 0; p--)
            {
                while (_byPriority[p].First is { } first)
                {
                    if (!admit(first.Value.Tokens)) return handed;
                    Remove(first.Value);
                    if (first.Value.Done.TrySetResult(QueueRefusal.None)) handed++;
                }
            }
        }
        return handed;
    }

    private void Cancel(Waiter waiter)
    {
        lock (_gate)
        {
            if (waiter.Node?.List is null) return; // already handed a slot or shed
            Remove(waiter);
        }
        waiter.Done.TrySetResult(QueueRefusal.TimedOut);
    }

    private Waiter? LeastUrgent()
    {
        foreach (var list in _byPriority)
            if (list.Last is { } last) return last.Value;
        return null;
    }

    private void Remove(Waiter waiter)
    {
        if (waiter.Node?.List is { } list)
        {
            list.Remove(waiter.Node);
            _count--;
        }
    }
}
