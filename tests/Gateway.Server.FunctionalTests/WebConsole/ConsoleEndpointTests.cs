using System.Net;
using System.Net.Http.Headers;
using Gateway.Server.FunctionalTests.Infrastructure;
using static Gateway.Server.FunctionalTests.Infrastructure.GatewayUnderTest;

namespace Gateway.Server.FunctionalTests.WebConsole;

/// <summary>The console's files at <c>/ui</c> (issue 13, point 4); the pages themselves are tested in a real browser by tests/console.</summary>
public sealed class ConsoleEndpointTests
{
    [Fact]
    public async Task Ui_IsTheEmbeddedPage_WithAStrictPolicy_AndItsAssetsNeedNoKey()
    {
        await using var gateway = await StartAsync();
        using var page = await gateway.Client.GetAsync("/ui");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        string html = await page.Content.ReadAsStringAsync();
        Assert.Contains("/ui/app.js", html, StringComparison.Ordinal);
        Assert.DoesNotContain("http", html.Replace("http-equiv", "", StringComparison.Ordinal), StringComparison.Ordinal); // nothing from another origin
        string policy = string.Join(";", page.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'self'", policy, StringComparison.Ordinal);
        Assert.Contains("connect-src 'self'", policy, StringComparison.Ordinal);
        Assert.Equal("DENY", string.Join(",", page.Headers.GetValues("X-Frame-Options")));

        using var slash = await gateway.Client.GetAsync("/ui/");
        Assert.Equal(html, await slash.Content.ReadAsStringAsync());
        foreach (var (path, type) in new[] { ("/ui/app.js", "text/javascript"), ("/ui/app.css", "text/css"), ("/ui/favicon.svg", "image/svg+xml"), ("/favicon.ico", "image/svg+xml") })
        {
            using var asset = await gateway.Client.GetAsync(path);
            Assert.True(asset.StatusCode == HttpStatusCode.OK, $"{path}: {asset.StatusCode}");
            Assert.Equal(type, asset.Content.Headers.ContentType!.MediaType);
            Assert.Equal("nosniff", string.Join(",", asset.Headers.GetValues("X-Content-Type-Options")));
        }
    }

    [Fact]
    public async Task Assets_Revalidate_ByETag_AndComeGzipped_WhenAsked()
    {
        await using var gateway = await StartAsync();
        using var plain = await gateway.Client.GetAsync("/ui/app.js");
        byte[] body = await plain.Content.ReadAsByteArrayAsync();
        var etag = plain.Headers.ETag!;

        using var conditional = new HttpRequestMessage(HttpMethod.Get, "/ui/app.js");
        conditional.Headers.IfNoneMatch.Add(etag);
        using var notModified = await gateway.Client.SendAsync(conditional);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());

        using var zipped = new HttpRequestMessage(HttpMethod.Get, "/ui/app.js");
        zipped.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));
        using var gz = await gateway.Client.SendAsync(zipped);
        Assert.Equal(["gzip"], gz.Content.Headers.ContentEncoding);
        byte[] packed = await gz.Content.ReadAsByteArrayAsync();
        Assert.True(packed.Length < body.Length / 2, $"{packed.Length} of {body.Length} bytes");
        await using var unzip = new System.IO.Compression.GZipStream(new MemoryStream(packed), System.IO.Compression.CompressionMode.Decompress);
        using var copy = new MemoryStream();
        await unzip.CopyToAsync(copy);
        Assert.Equal(body, copy.ToArray());
    }

    [Theory]
    [InlineData("GET", "/ui/nothing.js", 404)]
    [InlineData("GET", "/ui/../gateway.json", 404)]
    [InlineData("POST", "/ui", 405)]
    [InlineData("DELETE", "/ui/app.js", 405)]
    public async Task OtherPathsAndMethods_AreClearErrors(string method, string path, int status)
    {
        await using var gateway = await StartAsync();
        using var response = await gateway.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Contains("\"error\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConsoleOff_UiIsA404_AndTheRestServes()
    {
        await using var gateway = await StartAsync(configJson: """{"server":{"console":false}}""");
        using var ui = await gateway.Client.GetAsync("/ui");
        Assert.Equal(HttpStatusCode.NotFound, ui.StatusCode);
        Assert.Contains("server.console", await ui.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/health")).StatusCode);
    }
}
