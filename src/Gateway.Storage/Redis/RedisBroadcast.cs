using System.Collections.Concurrent;
using StackExchange.Redis;

namespace Gateway.Storage.Redis;

/// <summary>
/// Tells every replica that the directory changed (a key revoked, a limit edited, a provider stored), and
/// waits until each has taken it in: the replica that made the change answers its admin call only once
/// the others acknowledged (or a bounded wait passed), so a key revoked on one replica is refused by every
/// other on the very next request. Redis pub/sub carries the message and the acknowledgements; a replica
/// that was disconnected meanwhile catches up by its own poll of the database's directory version.
/// The number of replicas listening is also the count limits are shared by when Redis goes away.
/// </summary>
public sealed class RedisBroadcast : IAsyncDisposable
{
    private readonly RedisConnection _redis;
    private readonly Action _apply;
    private readonly Action<string>? _warn;
    private readonly string _self = Guid.NewGuid().ToString("N")[..12];
    private readonly RedisChannel _changes;
    private readonly RedisChannel _acks;
    private readonly ConcurrentDictionary<string, Pending> _pending = new(StringComparer.Ordinal);
    private ChannelMessageQueue? _changeQueue, _ackQueue;
    private int _replicas = 1, _toldUnsubscribed;

    /// <param name="apply">Takes a change in (rebuilds the directory from the database); runs on the broadcast's own queue, one change at a time.</param>
    public RedisBroadcast(RedisConnection redis, Action apply, Action<string>? warn = null)
    {
        _redis = redis;
        _changes = RedisChannel.Literal(redis.Prefix + "directory");
        _acks = RedisChannel.Literal(redis.Prefix + "directory:ack");
        _apply = apply;
        _warn = warn;
    }

    /// <summary>How long the replica that made a change waits for the others to take it in.</summary>
    public static readonly TimeSpan AckWait = TimeSpan.FromSeconds(2);

    /// <summary>Subscribed (a start while Redis was away is tried again by the caller's poll).</summary>
    public bool Started => _changeQueue is not null;

    /// <summary>Replicas listening, this one included, as last counted (1 until counted).</summary>
    public int Replicas => Volatile.Read(ref _replicas);

    /// <summary>A change waiting for its acknowledgements: those that arrive before the receivers are known are counted too.</summary>
    private sealed class Pending
    {
        public readonly TaskCompletionSource Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _arrived, _expected = int.MaxValue;

        public void Ack()
        {
            Interlocked.Increment(ref _arrived);
            Check();
        }

        public void Expect(int receivers)
        {
            Volatile.Write(ref _expected, receivers);
            Check();
        }

        private void Check()
        {
            if (Volatile.Read(ref _arrived) >= Volatile.Read(ref _expected)) Done.TrySetResult();
        }
    }

    public async Task StartAsync()
    {
        var subscriber = _redis.Multiplexer.GetSubscriber();
        ChannelMessageQueue? acks = null, changes;
        try
        {
            acks = await subscriber.SubscribeAsync(_acks).ConfigureAwait(false);
            changes = await subscriber.SubscribeAsync(_changes).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Half subscribed is not subscribed: the next try starts clean.
            if (acks is not null)
            {
                try { await acks.UnsubscribeAsync().ConfigureAwait(false); } catch (Exception inner) when (inner is RedisException or TimeoutException) { }
            }
            // Not up yet: the library subscribes when it connects; until then the database poll carries changes.
            // Said once, not at every retry (each second while Redis is away).
            if (Interlocked.Exchange(ref _toldUnsubscribed, 1) == 0)
                _warn?.Invoke($"directory broadcast not subscribed yet ({ex.Message}); changes reach this replica by its poll of the database until Redis answers");
            return;
        }
        acks.OnMessage(message =>
        {
            if (_pending.TryGetValue((string)message.Message!, out var pending)) pending.Ack();
        });
        changes.OnMessage(OnChangeAsync);
        (_ackQueue, _changeQueue) = (acks, changes);
        Volatile.Write(ref _toldUnsubscribed, 0);
        await CountAsync().ConfigureAwait(false);
    }

    private async Task OnChangeAsync(ChannelMessage message)
    {
        string text = (string)message.Message!;
        int bar = text.IndexOf('|');
        if (bar < 0) return;
        string id = text[..bar], origin = text[(bar + 1)..];
        if (origin != _self)
        {
            try
            {
                _apply();
            }
            catch (Exception ex)
            {
                // Not acknowledged: the origin waits out its bound, and the next poll of the database retries the change here.
                _warn?.Invoke($"a directory change from another replica could not be applied: {ex.Message}");
                return;
            }
        }
        try
        {
            await _redis.Multiplexer.GetSubscriber().PublishAsync(_acks, id).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
        }
    }

    /// <summary>Announces a change this replica made (and has applied) and waits, at most <see cref="AckWait"/>, for every replica listening to apply it too.</summary>
    /// <returns>True when all acknowledged; false when Redis is away or some did not in time (they catch up by their poll).</returns>
    public async Task<bool> AnnounceAsync()
    {
        string id = Guid.NewGuid().ToString("N");
        var subscriber = _redis.Multiplexer.GetSubscriber();
        try
        {
            // Registered before publishing: an acknowledgement can arrive before PUBLISH returns how many received it
            // (every replica subscribed, this one included; each acknowledges once it has applied the change).
            var pending = _pending[id] = new Pending();
            long receivers = await subscriber.PublishAsync(_changes, id + "|" + _self).ConfigureAwait(false);
            if (receivers == 0) return false;
            pending.Expect((int)receivers);
            try
            {
                await pending.Done.Task.WaitAsync(AckWait).ConfigureAwait(false);
                return true;
            }
            catch (TimeoutException)
            {
                _warn?.Invoke($"not every replica acknowledged a directory change within {AckWait.TotalSeconds:0} s; the others take it in by their poll of the database");
                return false;
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            _warn?.Invoke($"a directory change could not be broadcast ({ex.Message}); other replicas take it in by their poll of the database");
            return false;
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>Counts the replicas subscribed (PUBSUB NUMSUB); kept for the fallback shares.</summary>
    public async Task CountAsync()
    {
        try
        {
            var reply = await _redis.Database.ExecuteAsync("PUBSUB", "NUMSUB", (RedisValue)(_redis.Prefix + "directory")).ConfigureAwait(false);
            var parts = (RedisResult[])reply!;
            if (parts.Length == 2 && (long)parts[1] is > 0 and var count) Volatile.Write(ref _replicas, (int)count);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        // The connection may be closed already (it is disposed first at shutdown): its subscriptions went with it.
        foreach (var queue in new[] { _changeQueue, _ackQueue })
        {
            if (queue is null) continue;
            try
            {
                await queue.UnsubscribeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is ObjectDisposedException or RedisException or TimeoutException)
            {
            }
        }
    }
}
