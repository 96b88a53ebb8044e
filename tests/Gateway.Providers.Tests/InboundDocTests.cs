using System.Buffers;
using System.Text;
using Gateway.Core.Errors;
using Gateway.Providers.Anthropic;
using Gateway.Providers.Gemini;
using Gateway.Providers.OpenAI;

namespace Gateway.Providers.Tests;

/// <summary>docs/providers.md's inbound tables are the contract: each row's field is sent through its dialect's translator.</summary>
public class InboundDocTests
{
    private const string Messages = "\"model\":\"m\",\"max_tokens\":10";
    private const string User = "{\"role\":\"user\",\"content\":\"hi\"}";
    private const string MessagesTool = "\"tools\":[{\"name\":\"f\",\"input_schema\":{\"type\":\"object\"}}]";
    private const string Schema = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}";
    private const string GeminiUser = "{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}";

    // One minimal request per row, using that field and nothing else worth a warning.
    private static readonly Dictionary<(string Dialect, string Field), string> Samples = new()
    {
        [("messages", "system")] = $"{{{Messages},\"system\":\"s\",\"messages\":[{User}]}}",
        [("messages", "messages.text")] = $"{{{Messages},\"messages\":[{{\"role\":\"user\",\"content\":[{{\"type\":\"text\",\"text\":\"hi\"}}]}}]}}",
        [("messages", "messages.image")] = $"{{{Messages},\"messages\":[{{\"role\":\"user\",\"content\":[{{\"type\":\"image\",\"source\":{{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"iVBOR\"}}}}]}}]}}",
        [("messages", "messages.tool_use")] = $"{{{Messages},{MessagesTool},\"messages\":[{User},{{\"role\":\"assistant\",\"content\":[{{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{{}}}}]}},{{\"role\":\"user\",\"content\":[{{\"type\":\"tool_result\",\"tool_use_id\":\"t\",\"content\":\"r\"}}]}}]}}",
        [("messages", "messages.tool_result")] = $"{{{Messages},{MessagesTool},\"messages\":[{User},{{\"role\":\"assistant\",\"content\":[{{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{{}}}}]}},{{\"role\":\"user\",\"content\":[{{\"type\":\"tool_result\",\"tool_use_id\":\"t\",\"content\":\"r\"}}]}}]}}",
        [("messages", "max_tokens")] = $"{{{Messages},\"messages\":[{User}]}}",
        [("messages", "temperature")] = $"{{{Messages},\"temperature\":0.5,\"messages\":[{User}]}}",
        [("messages", "top_p")] = $"{{{Messages},\"top_p\":0.5,\"messages\":[{User}]}}",
        [("messages", "stop_sequences")] = $"{{{Messages},\"stop_sequences\":[\"x\"],\"messages\":[{User}]}}",
        [("messages", "stream")] = $"{{{Messages},\"stream\":true,\"messages\":[{User}]}}",
        [("messages", "tools")] = $"{{{Messages},{MessagesTool},\"messages\":[{User}]}}",
        [("messages", "tool_choice")] = $"{{{Messages},{MessagesTool},\"tool_choice\":{{\"type\":\"any\"}},\"messages\":[{User}]}}",
        [("messages", "metadata.user_id")] = $"{{{Messages},\"metadata\":{{\"user_id\":\"u\"}},\"messages\":[{User}]}}",
        [("messages", "output_config.format")] = $"{{{Messages},\"output_config\":{{\"format\":{{\"type\":\"json_schema\",\"schema\":{Schema}}}}},\"messages\":[{User}]}}",
        [("messages", "output_config.effort")] = $"{{{Messages},\"output_config\":{{\"effort\":\"low\"}},\"messages\":[{User}]}}",
        [("messages", "top_k")] = $"{{{Messages},\"top_k\":5,\"messages\":[{User}]}}",
        [("messages", "thinking")] = $"{{{Messages},\"thinking\":{{\"type\":\"enabled\",\"budget_tokens\":1024}},\"messages\":[{User}]}}",

        [("responses", "instructions")] = "{\"model\":\"m\",\"instructions\":\"s\",\"input\":\"hi\"}",
        [("responses", "input.text")] = "{\"model\":\"m\",\"input\":\"hi\"}",
        [("responses", "input.message")] = "{\"model\":\"m\",\"input\":[{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"hi\"}]}]}",
        [("responses", "input.input_image")] = "{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_image\",\"image_url\":\"https://e.com/a.png\"}]}]}",
        [("responses", "input.input_file")] = "{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_file\",\"file_id\":\"f\"}]}]}",
        [("responses", "input.function_call")] = "{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":\"hi\"},{\"type\":\"function_call\",\"call_id\":\"c\",\"name\":\"f\",\"arguments\":\"{}\"},{\"type\":\"function_call_output\",\"call_id\":\"c\",\"output\":\"r\"}]}",
        [("responses", "input.function_call_output")] = "{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":\"hi\"},{\"type\":\"function_call\",\"call_id\":\"c\",\"name\":\"f\",\"arguments\":\"{}\"},{\"type\":\"function_call_output\",\"call_id\":\"c\",\"output\":\"r\"}]}",
        [("responses", "input.reasoning")] = "{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":\"hi\"},{\"type\":\"reasoning\",\"id\":\"rs\",\"summary\":[]}]}",
        [("responses", "input.item_reference")] = "{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":\"hi\"},{\"type\":\"item_reference\",\"id\":\"msg\"}]}",
        [("responses", "tools.function")] = $"{{\"model\":\"m\",\"input\":\"hi\",\"tools\":[{{\"type\":\"function\",\"name\":\"f\",\"parameters\":{Schema}}}]}}",
        [("responses", "tools.web_search")] = "{\"model\":\"m\",\"input\":\"hi\",\"tools\":[{\"type\":\"web_search\"}]}",
        [("responses", "tool_choice")] = "{\"model\":\"m\",\"input\":\"hi\",\"tools\":[{\"type\":\"function\",\"name\":\"f\"}],\"tool_choice\":\"required\"}",
        [("responses", "parallel_tool_calls")] = "{\"model\":\"m\",\"input\":\"hi\",\"parallel_tool_calls\":false}",
        [("responses", "text.format")] = $"{{\"model\":\"m\",\"input\":\"hi\",\"text\":{{\"format\":{{\"type\":\"json_schema\",\"name\":\"x\",\"schema\":{Schema}}}}}}}",
        [("responses", "max_output_tokens")] = "{\"model\":\"m\",\"input\":\"hi\",\"max_output_tokens\":16}",
        [("responses", "temperature")] = "{\"model\":\"m\",\"input\":\"hi\",\"temperature\":0.5}",
        [("responses", "top_p")] = "{\"model\":\"m\",\"input\":\"hi\",\"top_p\":0.5}",
        [("responses", "reasoning.effort")] = "{\"model\":\"m\",\"input\":\"hi\",\"reasoning\":{\"effort\":\"low\"}}",
        [("responses", "reasoning.summary")] = "{\"model\":\"m\",\"input\":\"hi\",\"reasoning\":{\"summary\":\"auto\"}}",
        [("responses", "user")] = "{\"model\":\"m\",\"input\":\"hi\",\"user\":\"u\"}",
        [("responses", "stream")] = "{\"model\":\"m\",\"input\":\"hi\",\"stream\":true}",
        [("responses", "previous_response_id")] = "{\"model\":\"m\",\"input\":\"hi\",\"previous_response_id\":\"resp_1\"}",
        [("responses", "conversation")] = "{\"model\":\"m\",\"input\":\"hi\",\"conversation\":\"conv_1\"}",
        [("responses", "store")] = "{\"model\":\"m\",\"input\":\"hi\",\"store\":true}",
        [("responses", "metadata")] = "{\"model\":\"m\",\"input\":\"hi\",\"metadata\":{\"a\":\"b\"}}",
        [("responses", "truncation")] = "{\"model\":\"m\",\"input\":\"hi\",\"truncation\":\"auto\"}",

        [("gemini", "systemInstruction")] = $"{{\"systemInstruction\":{{\"parts\":[{{\"text\":\"s\"}}]}},\"contents\":[{GeminiUser}]}}",
        [("gemini", "contents.text")] = $"{{\"contents\":[{GeminiUser},{{\"role\":\"model\",\"parts\":[{{\"text\":\"a\"}}]}},{GeminiUser}]}}",
        [("gemini", "contents.inlineData.image")] = "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"iVBOR\"}}]}]}",
        [("gemini", "contents.inlineData.audio")] = "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"inlineData\":{\"mimeType\":\"audio/wav\",\"data\":\"UklG\"}}]}]}",
        [("gemini", "contents.fileData.image")] = "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"fileData\":{\"mimeType\":\"image/png\",\"fileUri\":\"https://e.com/a.png\"}}]}]}",
        [("gemini", "contents.functionCall")] = $"{{\"contents\":[{GeminiUser},{{\"role\":\"model\",\"parts\":[{{\"functionCall\":{{\"name\":\"f\",\"args\":{{}}}}}}]}},{{\"role\":\"user\",\"parts\":[{{\"functionResponse\":{{\"name\":\"f\",\"response\":{{}}}}}}]}}]}}",
        [("gemini", "contents.functionResponse")] = $"{{\"contents\":[{GeminiUser},{{\"role\":\"model\",\"parts\":[{{\"functionCall\":{{\"name\":\"f\",\"args\":{{}}}}}}]}},{{\"role\":\"user\",\"parts\":[{{\"functionResponse\":{{\"name\":\"f\",\"response\":{{}}}}}}]}}]}}",
        [("gemini", "tools.functionDeclarations")] = $"{{\"contents\":[{GeminiUser}],\"tools\":[{{\"functionDeclarations\":[{{\"name\":\"f\",\"parameters\":{{\"type\":\"OBJECT\"}}}}]}}]}}",
        [("gemini", "tools.googleSearch")] = $"{{\"contents\":[{GeminiUser}],\"tools\":[{{\"googleSearch\":{{}}}}]}}",
        [("gemini", "toolConfig")] = $"{{\"contents\":[{GeminiUser}],\"toolConfig\":{{\"functionCallingConfig\":{{\"mode\":\"ANY\"}}}}}}",
        [("gemini", "generationConfig.maxOutputTokens")] = $"{{\"contents\":[{GeminiUser}],\"generationConfig\":{{\"maxOutputTokens\":16}}}}",
        [("gemini", "generationConfig.temperature")] = $"{{\"contents\":[{GeminiUser}],\"generationConfig\":{{\"temperature\":0.5}}}}",
        [("gemini", "generationConfig.topP")] = $"{{\"contents\":[{GeminiUser}],\"generationConfig\":{{\"topP\":0.5}}}}",
        [("gemini", "generationConfig.stopSequences")] = $"{{\"contents\":[{GeminiUser}],\"generationConfig\":{{\"stopSequences\":[\"x\"]}}}}",
        [("gemini", "generationConfig.seed")] = $"{{\"contents\":[{GeminiUser}],\"generationConfig\":{{\"seed\":7}}}}",
        [("gemini", "generationConfig.responseSchema")] = $"{{\"contents\":[{GeminiUser}],\"generationConfig\":{{\"responseMimeType\":\"application/json\",\"responseSchema\":{{\"type\":\"OBJECT\"}}}}}}",
        [("gemini", "generationConfig.responseJsonSchema")] = $"{{\"contents\":[{GeminiUser}],\"generationConfig\":{{\"responseMimeType\":\"application/json\",\"responseJsonSchema\":{Schema}}}}}",
        [("gemini", "generationConfig.candidateCount")] = $"{{\"contents\":[{GeminiUser}],\"generationConfig\":{{\"candidateCount\":2}}}}",
        [("gemini", "generationConfig.topK")] = $"{{\"contents\":[{GeminiUser}],\"generationConfig\":{{\"topK\":40}}}}",
        [("gemini", "generationConfig.thinkingConfig")] = $"{{\"contents\":[{GeminiUser}],\"generationConfig\":{{\"thinkingConfig\":{{\"thinkingBudget\":0}}}}}}",
        [("gemini", "safetySettings")] = $"{{\"contents\":[{GeminiUser}],\"safetySettings\":[]}}",
    };

    public static TheoryData<string, string, string> Rows()
    {
        var data = new TheoryData<string, string, string>();
        string? dialect = null;
        bool inTable = false;
        foreach (var line in File.ReadAllLines(DocPath()))
        {
            if (line.StartsWith("<!-- inbound:", StringComparison.Ordinal))
            {
                dialect = line["<!-- inbound:".Length..].Replace("-->", "", StringComparison.Ordinal).Trim();
                inTable = false;
                continue;
            }
            if (dialect is null) continue;
            if (!line.StartsWith('|'))
            {
                if (inTable) dialect = null;
                continue;
            }
            inTable = true;
            var cells = line.Split('|', StringSplitOptions.TrimEntries)[1..^1];
            if (cells[0] is "field" || cells[0].StartsWith("---", StringComparison.Ordinal)) continue;
            data.Add(dialect, cells[0], cells[1]);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void Row_MatchesTheTranslator(string dialect, string field, string expected)
    {
        Assert.True(Samples.TryGetValue((dialect, field), out var sample), $"docs/providers.md names {dialect} '{field}', which has no sample request here");
        var body = Encoding.UTF8.GetBytes(sample);
        var dropped = new List<string>();
        GatewayError? error = dialect switch
        {
            "messages" => AnthropicRequestTranslator.Translate(body, "m", false, new ArrayBufferWriter<byte>(), dropped),
            "responses" => ResponsesRequestTranslator.Translate(body, "m", new ArrayBufferWriter<byte>(), dropped),
            "gemini" => GeminiRequestTranslator.Translate(body, "m", field == "stream", new ArrayBufferWriter<byte>(), dropped),
            _ => throw new InvalidOperationException($"unknown dialect '{dialect}'"),
        };
        string actual = error is { Status: 400 } ? "rejected" : error is not null ? $"error {error.Status}" : dropped.Count > 0 ? "dropped" : "mapped";
        Assert.True(expected == actual, $"{dialect} {field}: the table says {expected}, the translator {actual} ({error?.Message ?? string.Join(", ", dropped)})");
    }

    [Fact]
    public void Tables_CoverEverySample_AndEveryDialect()
    {
        var rows = Rows().Select(r => ((string)r[0], (string)r[1])).ToHashSet();
        Assert.DoesNotContain(Samples.Keys, k => !rows.Contains(k));
        Assert.Equal(["gemini", "messages", "responses"], rows.Select(r => r.Item1).Distinct().Order());
    }

    private static string DocPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Gateway.sln"))) return Path.Combine(dir.FullName, "docs", "providers.md");
        throw new FileNotFoundException("Gateway.sln not found above " + AppContext.BaseDirectory);
    }
}
