using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace Gateway.Server.Observability;

/// <summary>Prometheus text format 0.0.4 into a buffer: HELP and TYPE lines, samples with escaped label values.</summary>
internal sealed class PrometheusWriter(IBufferWriter<byte> output)
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public void Family(string name, string type, string help)
    {
        Raw("# HELP ");
        Raw(name);
        Raw(" ");
        Raw(help);
        Raw("\n# TYPE ");
        Raw(name);
        Raw(" ");
        Raw(type);
        Raw("\n");
    }

    /// <summary>One sample: <c>name{l1="v1",...} value</c>; labels given as name/value pairs.</summary>
    public void Sample(string name, ReadOnlySpan<string> labels, double value, string? suffix = null, string? le = null)
    {
        Raw(name);
        if (suffix is not null) Raw(suffix);
        if (labels.Length > 0 || le is not null)
        {
            Raw("{");
            for (int i = 0; i + 1 < labels.Length; i += 2)
            {
                if (i > 0) Raw(",");
                Label(labels[i], labels[i + 1]);
            }
            if (le is not null)
            {
                if (labels.Length > 0) Raw(",");
                Label("le", le);
            }
            Raw("}");
        }
        Raw(" ");
        Number(value);
        Raw("\n");
    }

    private void Label(string name, string value)
    {
        Raw(name);
        Raw("=\"");
        foreach (var rune in value.EnumerateRunes())
        {
            switch (rune.Value)
            {
                case '\\': Raw("\\\\"); break;
                case '"': Raw("\\\""); break;
                case '\n': Raw("\\n"); break;
                default:
                    var span = output.GetSpan(4);
                    int n = rune.EncodeToUtf8(span);
                    output.Advance(n);
                    break;
            }
        }
        Raw("\"");
    }

    public void Number(double value)
    {
        if (double.IsPositiveInfinity(value)) { Raw("+Inf"); return; }
        if (double.IsNegativeInfinity(value)) { Raw("-Inf"); return; }
        if (double.IsNaN(value)) { Raw("NaN"); return; }
        var span = output.GetSpan(32);
        if (value == Math.Floor(value) && Math.Abs(value) < 1e15)
        {
            Utf8Formatter.TryFormat((long)value, span, out int whole);
            output.Advance(whole);
            return;
        }
        value.TryFormat(span, out int written, "R", System.Globalization.CultureInfo.InvariantCulture);
        output.Advance(written);
    }

    private void Raw(string text)
    {
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        output.Advance(Encoding.UTF8.GetBytes(text, span));
    }
}
