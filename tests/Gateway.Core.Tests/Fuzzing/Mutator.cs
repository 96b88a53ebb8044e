namespace Gateway.Fuzzing;

/// <summary>
/// Seeded random mutation of valid inputs (what a coverage-blind fuzzer does): flips, inserts,
/// deletes, repeats and splices bytes, favouring the bytes parsers branch on. The same seed gives
/// the same inputs, so a failure names an input that can be replayed.
/// </summary>
public sealed class Mutator(int seed, IReadOnlyList<byte[]> corpus)
{
    private static readonly byte[] Interesting =
        "{}[]\":,\\/\n\r\t 0123456789-+.eEtrufalsn"u8.ToArray().Concat(new byte[] { 0, 0x7f, 0x80, 0xbf, 0xc0, 0xc3, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xff }).ToArray();

    private readonly Random _random = new(seed);

    /// <summary>The next input: a seed with 1 to 8 mutations (or, now and then, none).</summary>
    public byte[] Next()
    {
        var data = new List<byte>(corpus[_random.Next(corpus.Count)]);
        int mutations = _random.Next(20) == 0 ? 0 : 1 + _random.Next(8);
        for (int m = 0; m < mutations; m++) Mutate(data);
        return [.. data];
    }

    private void Mutate(List<byte> data)
    {
        int at = data.Count == 0 ? 0 : _random.Next(data.Count);
        switch (_random.Next(9))
        {
            case 0 when data.Count > 0: data[at] ^= (byte)(1 << _random.Next(8)); break;
            case 1 when data.Count > 0: data[at] = Interesting[_random.Next(Interesting.Length)]; break;
            case 2: data.Insert(at, Interesting[_random.Next(Interesting.Length)]); break;
            case 3 when data.Count > 0: data.RemoveRange(at, Math.Min(data.Count - at, 1 + _random.Next(16))); break;
            case 4 when data.Count > 0:
            {
                int length = Math.Min(data.Count - at, 1 + _random.Next(32));
                var piece = data.GetRange(at, length);
                for (int i = _random.Next(1, 4); i > 0; i--) data.InsertRange(_random.Next(data.Count + 1), piece);
                break;
            }
            case 5: data.RemoveRange(at, data.Count - at); break; // truncate
            case 6:
            {
                var other = corpus[_random.Next(corpus.Count)];
                if (other.Length == 0) break;
                int from = _random.Next(other.Length);
                data.InsertRange(at, other.AsSpan(from, Math.Min(other.Length - from, 1 + _random.Next(64))).ToArray());
                break;
            }
            case 7 when data.Count > 0: data[at] = (byte)_random.Next(256); break;
            default: // a run of one interesting byte (deep nesting, long numbers, escapes)
                data.InsertRange(at, Enumerable.Repeat(Interesting[_random.Next(Interesting.Length)], 1 + _random.Next(300)));
                break;
        }
    }

    /// <summary>
    /// Runs <paramref name="target"/> on <paramref name="count"/> inputs; an exception that is not
    /// <paramref name="allowed"/> fails with the input (base64) and its seed and number, to replay.
    /// </summary>
    public static void Run(string name, int seed, IReadOnlyList<byte[]> corpus, int count, Action<byte[]> target, Func<Exception, bool>? allowed = null)
    {
        var mutator = new Mutator(seed, corpus);
        for (int i = 0; i < count; i++)
        {
            byte[] input = mutator.Next();
            try
            {
                target(input);
            }
            catch (Exception ex) when (allowed is null || !allowed(ex))
            {
                throw new Xunit.Sdk.XunitException($"{name}: input {i} of seed {seed} threw {ex.GetType().Name}: {ex.Message}\n"
                    + $"input (base64): {Convert.ToBase64String(input)}\n{ex.StackTrace}");
            }
            catch (Exception)
            {
                // a documented failure: fine
            }
        }
    }
}
