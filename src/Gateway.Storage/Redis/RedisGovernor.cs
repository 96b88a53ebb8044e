using Gateway.Core.Governance;
using StackExchange.Redis;

namespace Gateway.Storage.Redis;

/// <summary>
/// Limits and budgets in Redis, one count for every replica (see <see cref="ISharedGovernor"/>). Each decision
/// is one Lua script, atomic on the server: admission checks every scope, then counts in all or none. Redis's
/// own clock sets the rate window (replicas' clocks may differ). Per scope:
/// <list type="bullet">
/// <item><c>…:rl:{minute}</c>: a hash of the minute's requests (<c>r</c>) and tokens (<c>t</c>), gone after two minutes;</item>
/// <item><c>…:sp:{period}:{start}</c>: the budget's spend in its period, seeded from the database on first use;</item>
/// <item><c>…:rs</c> and <c>…:ra</c>: reservations in flight, by expiry (a sorted set) and amount (a hash, with
/// their total under <c>#</c>); one whose replica died is dropped once it expires.</item>
/// </list>
/// </summary>
public sealed class RedisGovernor(RedisConnection redis, TimeSpan? reservationLifetime = null) : ISharedGovernor
{
    /// <summary>How long a reservation holds its budget if its request never settles it (its replica died): longer than any request may run.</summary>
    public static readonly TimeSpan DefaultReservationLifetime = TimeSpan.FromMinutes(15);

    private readonly long _lifetimeMs = (long)(reservationLifetime ?? DefaultReservationLifetime).TotalMilliseconds;

    private const string AdmitScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local minute = now - (now % 60000)
        local tokens = tonumber(ARGV[1]); local worst = tonumber(ARGV[2]); local res = ARGV[3]; local ttl = tonumber(ARGV[4]); local n = tonumber(ARGV[5])
        local counts = {}
        for i = 1, n do
          local b = 5 + (i - 1) * 4
          local rl = ARGV[b + 1] .. 'rl:' .. minute
          local rpm = tonumber(ARGV[b + 2]); local tpm = tonumber(ARGV[b + 3]); local limit = tonumber(ARGV[b + 4])
          local r = tonumber(redis.call('HGET', rl, 'r') or '0'); local tk = tonumber(redis.call('HGET', rl, 't') or '0')
          counts[i] = {r, tk}
          if rpm > 0 and r + 1 > rpm then return {1, i, minute, r, tk} end
          if tpm > 0 and tokens > tpm then return {2, i, minute, r, tk} end
          if tpm > 0 and tk + tokens > tpm then return {3, i, minute, r, tk} end
          if limit >= 0 then
            local k = (i - 1) * 3
            local spent = redis.call('GET', KEYS[k + 1])
            if not spent then return {5, i, minute, 0, 0} end
            local expired = redis.call('ZRANGEBYSCORE', KEYS[k + 2], '-inf', now)
            for _, id in ipairs(expired) do
              local amount = redis.call('HGET', KEYS[k + 3], id)
              if amount then
                redis.call('HINCRBY', KEYS[k + 3], '#', -tonumber(amount))
                redis.call('HDEL', KEYS[k + 3], id)
              end
              redis.call('ZREM', KEYS[k + 2], id)
            end
            local reserved = tonumber(redis.call('HGET', KEYS[k + 3], '#') or '0')
            spent = tonumber(spent)
            if spent >= limit or spent + reserved + worst > limit then return {4, i, minute, r, tk} end
          end
        end
        local out = {0, 0, minute}
        for i = 1, n do
          local b = 5 + (i - 1) * 4
          local rl = ARGV[b + 1] .. 'rl:' .. minute
          redis.call('HINCRBY', rl, 'r', 1)
          if tokens > 0 then redis.call('HINCRBY', rl, 't', tokens) end
          redis.call('PEXPIRE', rl, 120000)
          if tonumber(ARGV[b + 4]) >= 0 and worst > 0 then
            local k = (i - 1) * 3
            redis.call('ZADD', KEYS[k + 2], now + ttl, res)
            redis.call('HSET', KEYS[k + 3], res, worst)
            redis.call('HINCRBY', KEYS[k + 3], '#', worst)
            redis.call('PEXPIRE', KEYS[k + 2], ttl + 60000)
            redis.call('PEXPIRE', KEYS[k + 3], ttl + 60000)
          end
          out[#out + 1] = counts[i][1] + 1
          out[#out + 1] = counts[i][2] + tokens
        end
        return out
        """;

    private const string SettleScript = """
        local res = ARGV[1]; local window = ARGV[2]; local reserved = tonumber(ARGV[3]); local used = tonumber(ARGV[4]); local cost = tonumber(ARGV[5])
        local n = tonumber(ARGV[6])
        for i = 1, n do
          local b = 6 + (i - 1) * 2
          if used >= 0 and used ~= reserved then
            local rl = ARGV[b + 1] .. 'rl:' .. window
            if redis.call('EXISTS', rl) == 1 then
              local left = tonumber(redis.call('HGET', rl, 't') or '0') - reserved + used
              if left < 0 then left = 0 end
              redis.call('HSET', rl, 't', left)
            end
          end
          if ARGV[b + 2] == '1' then
            local k = (i - 1) * 3
            local amount = redis.call('HGET', KEYS[k + 3], res)
            if amount then
              redis.call('HINCRBY', KEYS[k + 3], '#', -tonumber(amount))
              redis.call('HDEL', KEYS[k + 3], res)
              redis.call('ZREM', KEYS[k + 2], res)
            end
            if cost > 0 and redis.call('EXISTS', KEYS[k + 1]) == 1 then redis.call('INCRBY', KEYS[k + 1], cost) end
          end
        end
        return 1
        """;

    // Spend counts only once seeded: a key the shared store lost is seeded again from the database, which has this spend too.
    private const string ChargeScript = """
        if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCRBY', KEYS[1], ARGV[1]) end
        return -1
        """;

    public async ValueTask<SharedAdmission> AdmitAsync(GovernedScope[] scopes, long tokens, long worstCostNanos, long now)
    {
        var keys = new RedisKey[scopes.Length * 3];
        var args = new RedisValue[5 + scopes.Length * 4];
        string id = Guid.NewGuid().ToString("N");
        (args[0], args[1], args[2], args[3], args[4]) = (tokens, worstCostNanos, id, _lifetimeMs, scopes.Length);
        for (int i = 0; i < scopes.Length; i++)
        {
            var scope = scopes[i];
            string prefix = PrefixOf(scope);
            (keys[i * 3], keys[i * 3 + 1], keys[i * 3 + 2]) = (SpendKey(prefix, scope.Budget, now), prefix + "rs", prefix + "ra");
            int b = 5 + i * 4;
            (args[b], args[b + 1], args[b + 2], args[b + 3]) = (prefix, scope.Limits.Rpm, scope.Limits.Tpm, scope.Budget?.LimitNanos ?? -1);
        }
        var reply = (long[])(await Run(AdmitScript, keys, args).ConfigureAwait(false))!;
        long code = reply[0], minute = reply[2];
        long resetMs = Math.Max(0, minute + 60_000 - now);
        if (code == 5) return new SharedAdmission(default, default, scopes[reply[1] - 1]);
        if (code != 0)
        {
            var by = scopes[reply[1] - 1];
            var result = code switch { 1 or 3 => AdmissionResult.RateLimited, 2 => AdmissionResult.TooLarge, _ => AdmissionResult.OverBudget };
            var refusal = Governor.Headers(result, by, code is 2 or 3, scopes, resetMs,
                (scope, i) => ReferenceEquals(scope, by) ? ((int)reply[3], reply[4]) : (0, 0));
            return new SharedAdmission(refusal, default);
        }
        var admission = Governor.Headers(AdmissionResult.Allowed, null, false, scopes, resetMs, (_, i) => ((int)reply[3 + i * 2], reply[4 + i * 2]));
        return new SharedAdmission(admission, new Reservation(scopes, minute, tokens, worstCostNanos, id));
    }

    public async ValueTask SeedAsync(GovernedScope scope, long periodStart, long spentNanos, long now)
    {
        if (scope.Budget is not { } budget) return;
        long end = Budget.PeriodEnd(budget.Period, now);
        var expiry = end == long.MaxValue ? (TimeSpan?)null : TimeSpan.FromMilliseconds(end - now) + TimeSpan.FromDays(1);
        try
        {
            await redis.Database.StringSetAsync(SpendKey(PrefixOf(scope), budget, now), spentNanos, expiry, When.NotExists).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw new SharedStoreException($"Redis {redis.Display}: {ex.Message}", ex);
        }
    }

    public async ValueTask SettleAsync(Reservation reservation, long? tokens, long costNanos, long now)
    {
        if (reservation.SharedId is not { } id) return;
        var scopes = reservation.Scopes;
        var keys = new RedisKey[scopes.Length * 3];
        var args = new RedisValue[6 + scopes.Length * 2];
        (args[0], args[1], args[2], args[3], args[4], args[5]) = (id, reservation.WindowStart, reservation.Tokens, tokens ?? -1, costNanos, scopes.Length);
        for (int i = 0; i < scopes.Length; i++)
        {
            var scope = scopes[i];
            string prefix = PrefixOf(scope);
            (keys[i * 3], keys[i * 3 + 1], keys[i * 3 + 2]) = (SpendKey(prefix, scope.Budget, now), prefix + "rs", prefix + "ra");
            (args[6 + i * 2], args[7 + i * 2]) = (prefix, scope.Budget is null ? "0" : "1");
        }
        await Run(SettleScript, keys, args).ConfigureAwait(false);
    }

    public async ValueTask<(long Spent, long Reserved)?> SpendAsync(GovernedScope scope, long now)
    {
        if (scope.Budget is not { } budget) return null;
        string prefix = PrefixOf(scope);
        try
        {
            var spent = await redis.Database.StringGetAsync(SpendKey(prefix, budget, now)).ConfigureAwait(false);
            if (spent.IsNull) return null;
            var reserved = await redis.Database.HashGetAsync(prefix + "ra", "#").ConfigureAwait(false);
            return ((long)spent, reserved.IsNull ? 0 : (long)reserved);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw new SharedStoreException($"Redis {redis.Display}: {ex.Message}", ex);
        }
    }

    public async ValueTask<bool> ChargeAsync(GovernedScope scope, long costNanos, long now)
    {
        if (scope.Budget is null || costNanos <= 0) return true;
        return (long)(await Run(ChargeScript, [SpendKey(PrefixOf(scope), scope.Budget, now)], [costNanos]).ConfigureAwait(false)) >= 0;
    }

    private async Task<RedisResult> Run(string script, RedisKey[] keys, RedisValue[] args)
    {
        try
        {
            return await redis.Database.ScriptEvaluateAsync(script, keys, args).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw new SharedStoreException($"Redis {redis.Display}: {ex.Message}", ex);
        }
    }

    private string PrefixOf(GovernedScope scope) => $"{redis.Prefix}{scope.Scope}:{scope.Id}:";

    // A budget whose period changes (a monthly budget made daily) starts a new key rather than reading the old period's spend.
    private static string SpendKey(string prefix, Budget? budget, long now) =>
        budget is null ? prefix + "sp" : $"{prefix}sp:{(int)budget.Period}:{Budget.PeriodStart(budget.Period, now)}";
}
