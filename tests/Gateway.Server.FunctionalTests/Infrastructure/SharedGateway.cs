namespace Gateway.Server.FunctionalTests.Infrastructure;

/// <summary>One upstream and one gateway (with a slow-timeout provider) shared by a test class.</summary>
public sealed class SharedGateway : IAsyncLifetime
{
    public TestUpstream Upstream { get; private set; } = null!;
    public GatewayUnderTest Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Upstream = await TestUpstream.StartAsync();
        Gateway = await GatewayUnderTest.StartAsync(Upstream, configJson: """
            {
              "server": { "maxBodyBytes": 65536 },
              "providers": {
                "strict": { "type": "openai-compatible", "baseUrl": "$UPSTREAM", "apiKey": "env:OPENAI_API_KEY",
                            "firstByteTimeoutMs": 1000, "timeoutMs": 2500 },
                "dead":   { "type": "openai-compatible", "baseUrl": "http://127.0.0.1:9/v1", "models": ["any"] },
                "claude": { "type": "anthropic", "baseUrl": "$UPSTREAM_ROOT/anthropic", "apiKey": "env:OPENAI_API_KEY" },
                "aws":    { "type": "bedrock", "baseUrl": "$UPSTREAM_ROOT/bedrock", "region": "us-test-1",
                            "accessKeyId": "AKIDTESTGATEWAY", "secretAccessKey": "test/secret/key" },
                "az":     { "type": "azure", "baseUrl": "$UPSTREAM_ROOT", "apiKey": "env:OPENAI_API_KEY", "models": ["chat-deployment"] },
                "mock":   { "type": "mock", "chunks": 3 }
              },
              "models": { "fast": "openai/gpt-test" }
            }
            """);
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}
