using System.Buffers;
using System.Text;
using Gateway.Core.Errors;
using Gateway.Providers.Anthropic;
using Gateway.Providers.Gemini;

namespace Gateway.Providers.Tests;

/// <summary>docs/providers.md is the contract: every cell of its table is checked against the translators.</summary>
public class ProvidersDocTests
{
    private const string Base = "\"model\":\"p/m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";
    private const string Tool = "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}}}]";

    // One request per row that uses the field; the rest of the request is the minimum.
    private static readonly Dictionary<string, string> Samples = new()
    {
        ["model"] = $"{{{Base}}}",
        ["messages.system"] = "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"user\",\"content\":\"hi\"}]}",
        ["messages.developer"] = "{\"model\":\"m\",\"messages\":[{\"role\":\"developer\",\"content\":\"s\"},{\"role\":\"user\",\"content\":\"hi\"}]}",
        ["messages.user.text"] = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}]}",
        ["messages.user.image_url"] = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBOR\"}}]}]}",
        ["messages.user.input_audio"] = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"x\",\"format\":\"wav\"}}]}]}",
        ["messages.user.file"] = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"file\",\"file\":{\"file_id\":\"f\"}}]}]}",
        ["messages.assistant.tool_calls"] = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"c\",\"content\":\"r\"}]}",
        ["messages.tool"] = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"c\",\"content\":\"r\"}]}",
        ["max_tokens"] = $"{{{Base},\"max_tokens\":5}}",
        ["max_completion_tokens"] = $"{{{Base},\"max_completion_tokens\":5}}",
        ["temperature"] = $"{{{Base},\"temperature\":0.5}}",
        ["top_p"] = $"{{{Base},\"top_p\":0.5}}",
        ["stop"] = $"{{{Base},\"stop\":[\"x\"]}}",
        ["stream"] = $"{{{Base},\"stream\":true}}",
        ["stream_options"] = $"{{{Base},\"stream\":true,\"stream_options\":{{\"include_usage\":true}}}}",
        ["n"] = $"{{{Base},\"n\":2}}",
        ["tools"] = $"{{{Base},{Tool}}}",
        ["tools.strict"] = $"{{{Base},\"tools\":[{{\"type\":\"function\",\"function\":{{\"name\":\"f\",\"strict\":true,\"parameters\":{{\"type\":\"object\",\"properties\":{{\"a\":{{\"type\":\"string\"}}}}}}}}}}]}}",
        ["tool_choice"] = $"{{{Base},{Tool},\"tool_choice\":\"required\"}}",
        ["parallel_tool_calls"] = $"{{{Base},{Tool},\"parallel_tool_calls\":false}}",
        ["response_format"] = $"{{{Base},\"response_format\":{{\"type\":\"json_schema\",\"json_schema\":{{\"name\":\"x\",\"schema\":{{\"type\":\"object\",\"properties\":{{\"a\":{{\"type\":\"string\"}}}}}}}}}}}}",
        ["presence_penalty"] = $"{{{Base},\"presence_penalty\":0.1}}",
        ["frequency_penalty"] = $"{{{Base},\"frequency_penalty\":0.1}}",
        ["logit_bias"] = $"{{{Base},\"logit_bias\":{{\"1\":1}}}}",
        ["logprobs"] = $"{{{Base},\"logprobs\":true}}",
        ["seed"] = $"{{{Base},\"seed\":7}}",
        ["user"] = $"{{{Base},\"user\":\"u\"}}",
        ["reasoning_effort"] = $"{{{Base},\"reasoning_effort\":\"low\"}}",
    };

    public static TheoryData<string, string, string> Cells()
    {
        var data = new TheoryData<string, string, string>();
        var lines = File.ReadAllLines(DocPath()).SkipWhile(l => !l.StartsWith("<!-- table:", StringComparison.Ordinal)).Skip(1);
        var header = lines.First().Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        foreach (var line in lines.Skip(2).TakeWhile(l => l.StartsWith('|')))
        {
            var cells = line.Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            for (int i = 1; i < cells.Length; i++) data.Add(cells[0], header[i], cells[i]);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cells))]
    public void Table_CellMatchesTheTranslator(string field, string provider, string expected)
    {
        Assert.True(Samples.TryGetValue(field, out var sample), $"docs/providers.md names '{field}', which has no sample request here");
        var body = Encoding.UTF8.GetBytes(sample);
        var dropped = new List<string>();
        GatewayError? error = provider switch
        {
            "anthropic" => Canonical.Translate(sample, r => AnthropicUpstreamRequest.Translate(r, "m"u8, new ArrayBufferWriter<byte>(), dropped)),
            "gemini" => Canonical.Translate(sample, r => GeminiUpstreamRequest.Translate(r, new ArrayBufferWriter<byte>(), dropped)),
            "bedrock" => Canonical.Translate(sample, r => Gateway.Providers.Bedrock.BedrockConverseRequest.Translate(r, new ArrayBufferWriter<byte>(), dropped)),
            _ => throw new InvalidOperationException($"unknown provider column '{provider}'"),
        };
        string leaf = field.Split('.')[^1];
        bool wasDropped = dropped.Any(d => d.StartsWith(field, StringComparison.Ordinal) || d.Contains($".{leaf}", StringComparison.Ordinal));
        string actual = error is { Status: 400 } ? "rejected" : error is not null ? $"error {error.Status}" : wasDropped ? "dropped" : "mapped";
        Assert.True(expected == actual, $"{provider} {field}: the table says {expected}, the translator {actual} ({error?.Message ?? string.Join(", ", dropped)})");
    }

    [Fact]
    public void Table_CoversEverySample()
    {
        var fields = Cells().Select(row => (string)row[0]).ToHashSet();
        Assert.DoesNotContain(Samples.Keys, k => !fields.Contains(k));
    }

    private static string DocPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Gateway.sln"))) return Path.Combine(dir.FullName, "docs", "providers.md");
        throw new FileNotFoundException("Gateway.sln not found above " + AppContext.BaseDirectory);
    }
}
