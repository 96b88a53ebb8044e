using System.Text.Json;
using Gateway.Core.Config;

namespace Gateway.Policies.Pii;

/// <summary>
/// The built-in PII redaction (<c>"builtin": "pii-redaction"</c>): the same JavaScript an operator
/// could write with <c>gateway.redact</c>, so it runs under the same sandbox, binding, meter and
/// failure mode as any other policy. Placeholders are put back in the answer by the gateway.
/// </summary>
public static class PiiRedactionPolicy
{
    public static string Source(PolicyConfig config)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("mode", config.RedactMode);
            if (config.RedactKinds.Count > 0)
            {
                w.WriteStartArray("kinds");
                foreach (var kind in config.RedactKinds) w.WriteStringValue(kind);
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        string options = System.Text.Encoding.UTF8.GetString(buffer.ToArray());
        return $$"""
            const options = {{options}};
            const redact = (text) => typeof text === 'string' ? gateway.redact(text, options) : text;
            export function onRequest(req) {
              for (const m of req.messages ?? []) {
                if (Array.isArray(m.content)) { for (const p of m.content) if (p && p.type === 'text') p.text = redact(p.text); }
                else m.content = redact(m.content);
                for (const c of m.tool_calls ?? []) if (c.function) c.function.arguments = redact(c.function.arguments);
              }
              // Embeddings: a string or an array of strings (token arrays carry no text to redact).
              if (typeof req.input === 'string') req.input = redact(req.input);
              else if (Array.isArray(req.input)) req.input = req.input.map(redact);
              return req;
            }
            """;
    }
}
