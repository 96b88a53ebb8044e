using System.Net;
using System.Net.Sockets;
using System.Text;
using Gateway.Core.Providers;

namespace Gateway.Core.Tests.Providers;

/// <summary>A request body is handed back once the answer is here and never while the transport still sends it.</summary>
public class UpstreamBodyContentTests
{
    /// <summary>Stands for the pool: once disposed, the memory is someone else's, so it is overwritten.</summary>
    private sealed class Lender(byte[] memory) : IDisposable
    {
        public int Disposed;

        public void Dispose()
        {
            Interlocked.Increment(ref Disposed);
            Array.Fill(memory, (byte)'#');
        }
    }

    /// <summary>A stream whose writes wait until the test lets them finish.</summary>
    private sealed class HeldStream : MemoryStream
    {
        public readonly TaskCompletionSource Go = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly TaskCompletionSource Writing = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Writing.TrySetResult();
            await Go.Task;
            await base.WriteAsync(buffer, cancellationToken);
        }
    }

    [Fact]
    public async Task Release_NoSendInFlight_HandsTheMemoryBackAtOnce_AndNoLaterSendReadsIt()
    {
        var memory = Encoding.UTF8.GetBytes("{\"model\":\"m\"}");
        var lender = new Lender(memory);
        using var content = new UpstreamBodyContent(memory);
        Assert.Equal(memory.Length, content.Headers.ContentLength);
        var sent = new MemoryStream();
        await content.CopyToAsync(sent);
        Assert.Equal("{\"model\":\"m\"}", Encoding.UTF8.GetString(sent.ToArray()));

        content.Release(lender);
        Assert.Equal(1, lender.Disposed);
        Assert.True(content.Released);
        content.Release(lender); // asked twice: handed back once
        Assert.Equal(1, lender.Disposed);
        Assert.Equal(13, content.Headers.ContentLength); // the length stays what was sent

        // Released before any send: a send afterwards is refused, not made from memory no longer its own.
        using var late = new UpstreamBodyContent(memory);
        late.Release(new Lender(new byte[1]));
        await Assert.ThrowsAsync<InvalidOperationException>(() => late.CopyToAsync(new MemoryStream()));
    }

    [Fact]
    public async Task Release_WhileASendIsInFlight_WaitsForItsEnd_AndTheBytesSentAreIntact()
    {
        var memory = Encoding.UTF8.GetBytes(new string('a', 10_000));
        var lender = new Lender(memory);
        using var content = new UpstreamBodyContent(memory);
        var held = new HeldStream();
        var sending = content.CopyToAsync(held);
        await held.Writing.Task;

        content.Release(lender);
        Assert.Equal(0, lender.Disposed); // the transport still reads the memory
        Assert.False(content.Released);

        held.Go.SetResult();
        await sending;
        Assert.Equal(1, lender.Disposed);
        Assert.True(content.Released);
        Assert.All(held.ToArray(), b => Assert.Equal((byte)'a', b));
    }

    [Fact]
    public void ReleaseRequestBody_WithoutAnOwner_HandsBackAtOnce_AnOwnerThatCannotTellKeepsIt()
    {
        var lender = new Lender(new byte[4]);
        using (var answer = new UpstreamResponse(200, "application/json", 2, new MemoryStream("{}"u8.ToArray()), owner: null))
            answer.ReleaseRequestBody(lender);
        Assert.Equal(1, lender.Disposed);

        var kept = new Lender(new byte[4]);
        using (var answer = new UpstreamResponse(200, "application/json", 2, new MemoryStream("{}"u8.ToArray()), owner: new MemoryStream()))
            answer.ReleaseRequestBody(kept);
        Assert.Equal(0, kept.Disposed);
    }

    /// <summary>
    /// Through a real <see cref="HttpClient"/> over HTTP/1.1: the upstream answers its headers before it
    /// has read a body far larger than the sockets' buffers, and the body is handed back as soon as the
    /// answer is here, as the gateway does. Every byte must still arrive as sent (memory handed back too
    /// early arrives overwritten), and the lender is repaid exactly once. (SocketsHttpHandler finishes an
    /// HTTP/1.1 send before it returns the answer; the in-flight case itself is the test above.)
    /// </summary>
    [Fact]
    public async Task RealHttp11Upstream_AnswersBeforeReadingTheBody_ReceivesItIntact()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        const int BodyBytes = 4 * 1024 * 1024; // far beyond the sockets' buffers: the send is still running
        var memory = new byte[BodyBytes];
        for (int i = 0; i < memory.Length; i++) memory[i] = (byte)('a' + i % 26);
        var lender = new Lender(memory);

        var upstream = Task.Run(async () =>
        {
            using var socket = await listener.AcceptSocketAsync();
            using var stream = new NetworkStream(socket);
            var head = new List<byte>();
            var one = new byte[1];
            while (!(head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
            {
                if (await stream.ReadAsync(one) == 0) throw new IOException("closed in the head");
                head.Add(one[0]);
            }
            await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"u8.ToArray());
            await stream.FlushAsync();
            await Task.Delay(200); // the answer's head is with the client, the body mostly unsent
            var received = new byte[BodyBytes];
            int got = 0;
            while (got < BodyBytes)
            {
                int n = await stream.ReadAsync(received.AsMemory(got));
                if (n == 0) break;
                got += n;
            }
            await stream.WriteAsync("5\r\ndone\n\r\n0\r\n\r\n"u8.ToArray());
            return (got, received);
        });

        using var client = new HttpClient(new SocketsHttpHandler()) { Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{port}/v1/chat/completions")
        {
            Content = new UpstreamBodyContent(memory),
        };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        ((UpstreamBodyContent)request.Content).Release(lender);
        var text = await response.Content.ReadAsStringAsync();
        var (got, received) = await upstream;

        Assert.Equal("done\n", text);
        Assert.Equal(BodyBytes, got);
        Assert.Equal(1, lender.Disposed);
        for (int i = 0; i < BodyBytes; i++)
            if (received[i] != (byte)('a' + i % 26)) Assert.Fail($"byte {i} of the body arrived as '{(char)received[i]}': the memory was handed back while it was being sent");
    }
}
