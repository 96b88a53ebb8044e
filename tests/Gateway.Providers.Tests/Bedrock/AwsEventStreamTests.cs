using System.Text;
using Gateway.Providers.Bedrock;

namespace Gateway.Providers.Tests.Bedrock;

public class AwsEventStreamTests
{
    private static byte[] Event(string type, string json) =>
        AwsEventStreamDecoder.Encode([new(":event-type", type), new(":content-type", "application/json"), new(":message-type", "event")], Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Decode_EverySplitPoint_GivesBothMessagesWhole()
    {
        var stream = Event("messageStart", "{\"role\":\"assistant\"}").Concat(Event("contentBlockDelta", "{\"delta\":{\"text\":\"hé\"},\"contentBlockIndex\":0}")).ToArray();
        for (int split = 1; split < stream.Length; split++)
        {
            var decoder = new AwsEventStreamDecoder();
            var seen = new List<AwsEvent>();
            decoder.Append(stream.AsSpan(0, split));
            while (decoder.TryRead(out var e)) seen.Add(e);
            decoder.Append(stream.AsSpan(split));
            while (decoder.TryRead(out var e)) seen.Add(e);
            Assert.Equal(["messageStart", "contentBlockDelta"], seen.Select(e => e.EventType));
            Assert.Equal("{\"delta\":{\"text\":\"hé\"},\"contentBlockIndex\":0}", Encoding.UTF8.GetString(seen[1].Payload.Span));
            Assert.All(seen, e => Assert.Equal("event", e.MessageType));
        }
    }

    [Fact]
    public void Decode_CorruptedByte_IsRejected()
    {
        var message = Event("messageStop", "{\"stopReason\":\"end_turn\"}");
        message[^6] ^= 0xFF;
        var decoder = new AwsEventStreamDecoder();
        decoder.Append(message);
        Assert.Throws<InvalidDataException>(() => decoder.TryRead(out _));
    }

    [Fact]
    public void Decode_Exception_CarriesItsType()
    {
        var decoder = new AwsEventStreamDecoder();
        decoder.Append(AwsEventStreamDecoder.Encode([new(":message-type", "exception"), new(":exception-type", "throttlingException")], "{\"message\":\"slow down\"}"u8));
        Assert.True(decoder.TryRead(out var e));
        Assert.Equal(("exception", "throttlingException"), (e.MessageType, e.ExceptionType));
    }
}
