using Gateway.Providers.Bedrock;

namespace Gateway.Providers.Tests.Bedrock;

public class AwsSigV4Tests
{
    [Fact]
    public void Authorization_PublishedS3GetObjectExample_MatchesTheDocumentedSignature()
    {
        // AWS S3 API reference, "Signature Calculations for the Authorization Header", example GET Object.
        var credentials = new AwsCredentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", null);
        const string emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        var headers = new Dictionary<string, string>
        {
            ["Host"] = "examplebucket.s3.amazonaws.com",
            ["Range"] = "bytes=0-9",
            ["x-amz-content-sha256"] = emptyHash,
            ["x-amz-date"] = "20130524T000000Z",
        };
        string authorization = AwsSigV4.Authorization("GET", "/test.txt", "", headers, emptyHash, credentials, "us-east-1", "s3",
            new DateTimeOffset(2013, 5, 24, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", authorization);
    }

    [Fact]
    public void PayloadHash_OfEmptyBody_IsTheWellKnownValue()
    {
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", AwsSigV4.PayloadHash([]));
    }

    [Theory]
    [InlineData("anthropic.claude-3-5-sonnet-20240620-v1:0", "anthropic.claude-3-5-sonnet-20240620-v1%3A0")]
    [InlineData("a b/c", "a%20b%2Fc")]
    [InlineData("~-_.", "~-_.")]
    public void UriEncode_KeepsOnlyUnreserved(string value, string encoded)
    {
        Assert.Equal(encoded, AwsSigV4.UriEncode(value));
    }
}
