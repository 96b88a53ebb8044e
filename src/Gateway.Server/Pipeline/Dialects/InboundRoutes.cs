using Gateway.Server.Http;

namespace Gateway.Server.Pipeline.Dialects;

/// <summary>Where each inbound dialect is served: the paths of the APIs whose clients the gateway speaks to.</summary>
internal static class InboundRoutes
{
    public static void Add(GatewayRouter router, ModelPipeline pipeline)
    {
        // Clients differ on whether a base URL includes /v1: both are served.
        foreach (var prefix in new[] { "/v1", "" })
        {
            router.AddModelRoute(prefix + "/chat/completions", new ChatDialect(), pipeline)
                .AddModelRoute(prefix + "/embeddings", new EmbeddingsDialect(), pipeline)
                .AddModelRoute(prefix + "/messages", new MessagesDialect(), pipeline)
                .AddModelRoute(prefix + "/responses", new ResponsesDialect(), pipeline);
        }
        // The Gemini API names the model in the path: /v1beta/models/{model}:generateContent and the like.
        router.AddModelPattern(GeminiDialect.Matches, new GeminiDialect(), pipeline);
    }
}
