using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Gateway.Core.Providers;

namespace Gateway.Core.Routing;

/// <summary>A provider and the model id it knows, with the id pre-encoded for the body rewrite.</summary>
public sealed class RouteTarget
{
    public RouteTarget(IProvider provider, string model)
    {
        Provider = provider;
        Model = model;
        ModelUtf8 = Encoding.UTF8.GetBytes(model);
        ModelJson = JsonEncodedText.Encode(model, JavaScriptEncoder.UnsafeRelaxedJsonEscaping).EncodedUtf8Bytes.ToArray();
    }

    public IProvider Provider { get; }
    public string Model { get; }
    /// <summary>The id as UTF-8, unescaped.</summary>
    public byte[] ModelUtf8 { get; }
    /// <summary>The id as JSON string content (escaped, without quotes).</summary>
    public byte[] ModelJson { get; }
}
