using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gateway.Server.FunctionalTests.Infrastructure;

namespace Gateway.Server.FunctionalTests.Admin;

/// <summary>Calls to the admin API and model routes as an operator's scripts make them.</summary>
internal static class AdminClient
{
    public static async Task<(int Status, JsonElement Body)> CallAsync(this GatewayUnderTest gateway, HttpMethod method, string path, string? json = null,
        string? key = GatewayUnderTest.MasterKey)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await gateway.Client.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        using var document = JsonDocument.Parse(text.Length == 0 ? "null" : text);
        return ((int)response.StatusCode, document.RootElement.Clone());
    }

    /// <summary>A new key through the API: its id and its secret.</summary>
    public static async Task<(string Id, string Key)> NewKeyAsync(this GatewayUnderTest gateway, string json)
    {
        var (status, body) = await gateway.CallAsync(HttpMethod.Post, "/admin/v1/keys", json);
        Assert.True(status == 201, $"key not created ({status}): {body}");
        return (body.GetProperty("id").GetString()!, body.GetProperty("key").GetString()!);
    }

    public static async Task<(int Status, HttpResponseMessage Response, JsonElement Body)> ChatAsync(this GatewayUnderTest gateway, string key, string model, string text,
        int? maxTokens = null, HttpClient? client = null)
    {
        string json = GatewayUnderTest.Chat(model, text);
        if (maxTokens is { } max) json = json.Insert(1, $"\"max_tokens\":{max},");
        var response = await (client ?? gateway.Client).SendAsync(GatewayUnderTest.Post("/v1/chat/completions", json, key));
        string body = await response.Content.ReadAsStringAsync();
        using var document = JsonDocument.Parse(body);
        return ((int)response.StatusCode, response, document.RootElement.Clone());
    }

    public static string Header(this HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : "";
}
