using System.Collections.Frozen;
using System.IO.Compression;
using System.Security.Cryptography;
using Gateway.Core;
using Gateway.Core.Errors;
using Gateway.Server.Http;
using Microsoft.AspNetCore.Http;

namespace Gateway.Server.WebConsole;

/// <summary>
/// The web console at <c>/ui</c>: static files embedded in the binary, read and compressed on the
/// first console request (not at start, where it cost a tenth of the time to the first answer) and served
/// from memory (gzip when the browser takes it, <c>ETag</c> revalidation). The page holds no data and
/// no secret: signed in with an admin key kept in the tab's session storage, it calls the admin API and
/// the model routes like any client. A strict content security policy keeps every fetch on this origin.
/// </summary>
internal sealed class ConsoleEndpoint
{
    public const string Prefix = "/ui";
    private const string Policy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

    private sealed record Asset(string ContentType, byte[] Body, byte[]? Gzip, string ETag);

    private readonly Lazy<FrozenDictionary<string, Asset>> _assets = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);
    private readonly SnapshotHolder _snapshots;

    public ConsoleEndpoint(SnapshotHolder snapshots)
    {
        _snapshots = snapshots;
    }

    private static FrozenDictionary<string, Asset> Load()
    {
        var assembly = typeof(ConsoleEndpoint).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (string resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith("console/", StringComparison.Ordinal)) continue;
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            byte[] body = copy.ToArray();
            string name = resource["console/".Length..].Replace('\\', '/');
            string type = Path.GetExtension(name) switch
            {
                ".html" => "text/html; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                ".svg" => "image/svg+xml",
                ".png" => "image/png",
                _ => "application/octet-stream",
            };
            byte[]? gzip = null;
            if (type.StartsWith("text/", StringComparison.Ordinal) || type == "image/svg+xml")
            {
                using var packed = new MemoryStream();
                using (var zip = new GZipStream(packed, CompressionLevel.SmallestSize, leaveOpen: true)) zip.Write(body);
                if (packed.Length < body.Length * 9 / 10) gzip = packed.ToArray();
            }
            string etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(body))[..20] + "\"";
            assets[name] = new Asset(type, body, gzip, etag);
        }
        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary><c>GET /ui</c> and <c>GET /ui/{file}</c>.</summary>
    public Task ServeAsync(HttpContext context)
    {
        string path = context.Request.Path.Value ?? Prefix;
        string name = path.Length <= Prefix.Length + 1 ? "index.html" : path[(Prefix.Length + 1)..];
        return WriteAsync(context, name);
    }

    /// <summary><c>GET /favicon.ico</c>: browsers ask for it on their own; the console's icon answers.</summary>
    public Task FaviconAsync(HttpContext context) => WriteAsync(context, "favicon.svg");

    private async Task WriteAsync(HttpContext context, string name)
    {
        var request = context.Request;
        if (!_snapshots.Current.Config.Server.Console)
        {
            await ErrorResponses.WriteAsync(context, GatewayError.NotFound("The web console is off (server.console is false).")).ConfigureAwait(false);
            return;
        }
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            await ErrorResponses.WriteAsync(context, GatewayError.MethodNotAllowed(request.Path.Value ?? "", request.Method, "GET, HEAD")).ConfigureAwait(false);
            return;
        }
        if (!_assets.Value.TryGetValue(name, out var asset))
        {
            await ErrorResponses.WriteAsync(context, GatewayError.NotFound($"No console file {request.Path}.")).ConfigureAwait(false);
            return;
        }
        var response = context.Response;
        var headers = response.Headers;
        headers.ContentType = asset.ContentType;
        headers.ETag = asset.ETag;
        headers.CacheControl = "no-cache"; // revalidated each time: a new binary's files show at once
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        if (name == "index.html")
        {
            headers.ContentSecurityPolicy = Policy;
            headers.XFrameOptions = "DENY";
        }
        if (asset.Gzip is not null) headers.Vary = "Accept-Encoding";
        if (request.Headers.IfNoneMatch.ToString() == asset.ETag)
        {
            response.StatusCode = 304;
            return;
        }
        byte[] body = asset.Body;
        if (asset.Gzip is not null && AcceptsGzip(request))
        {
            headers.ContentEncoding = "gzip";
            body = asset.Gzip;
        }
        response.ContentLength = body.Length;
        if (HttpMethods.IsHead(request.Method)) return;
        await response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }

    private static bool AcceptsGzip(HttpRequest request)
    {
        foreach (string? value in request.Headers.AcceptEncoding)
            if (value is not null && value.Contains("gzip", StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }
}
