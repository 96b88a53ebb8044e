namespace Gateway.Providers.Mock;

/// <summary>The mock's deterministic token count: one token per four characters, at least one.</summary>
internal static class MockTokens
{
    public static int Count(int chars) => Math.Max(1, (chars + 3) / 4);
}
