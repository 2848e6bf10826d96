using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http.Connections.Features;
using Microsoft.AspNetCore.SignalR;

namespace Hubwire.Reference;

public sealed class ComplexObject
{
    public string String { get; set; } = "";
    public int[] IntArray { get; set; } = [];
    public byte[] ByteArray { get; set; } = [];
    public Guid Guid { get; set; }
    public DateTime DateTime { get; set; }
}

/// <summary>The official SignalR functional-test hub, method for method (TestHub in samples/interop-server).</summary>
public sealed class TestHub(IHubContext<TestHub> hubContext) : Hub
{
    public string Echo(string message) => message;

    public string GetCallerConnectionId() => Context.ConnectionId;

    public int GetNumRedirects() =>
        int.TryParse(Context.GetHttpContext()?.Request.Query["numRedirects"], out var n) ? n : 0;

    public void ThrowException(string message) => throw new InvalidOperationException(message);

    public Task InvokeWithString(string message) => Clients.Caller.SendAsync("Message", message);

    public Task SendCustomObject(CustomObject obj) => Clients.Caller.SendAsync("CustomObject", obj);

    public async IAsyncEnumerable<string> Stream()
    {
        foreach (var item in new[] { "a", "b", "c" })
        {
            await Task.Yield();
            yield return item;
        }
    }

    public async IAsyncEnumerable<string> InfiniteStream([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Taken now: the hub instance is gone when the cancellation arrives.
        var connectionId = Context.ConnectionId;
        var canceled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (cancellationToken.Register(() => canceled.TrySetResult()))
        {
            await canceled.Task;
        }
        await hubContext.Clients.Client(connectionId).SendAsync("StreamCanceled");
        yield break;
    }

    public async Task<string> StreamingConcat(IAsyncEnumerable<string> source)
    {
        var text = "";
        await foreach (var item in source) text += item;
        return text;
    }

    public async IAsyncEnumerable<int> EmptyStream()
    {
        await Task.Yield();
        yield break;
    }

    /// <summary>Throws before returning its stream, so the caller gets the "invoking" error.</summary>
    public ChannelReader<string> StreamThrowException(string message) => throw new InvalidOperationException(message);

    public string GetActiveTransportName() =>
        Context.Features.Get<IHttpTransportFeature>()?.TransportType.ToString() ?? "";

    public ComplexObject EchoComplexObject(ComplexObject obj) => obj;

    public ComplexObject SendComplexObject() => new()
    {
        String = "hello world",
        IntArray = [1, 2, 3],
        ByteArray = [1, 2, 3],
        Guid = Guid.Parse("00010203-0405-0607-0706-050403020100"),
        DateTime = new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc),
    };

    public string GetContentTypeHeader() => Context.GetHttpContext()?.Request.Headers.ContentType.ToString() ?? "";

    public string? GetHeader(string name) =>
        Context.GetHttpContext()?.Request.Headers.TryGetValue(name, out var value) == true ? value.ToString() : null;

    public string? GetCookie(string name) =>
        Context.GetHttpContext()?.Request.Cookies.TryGetValue(name, out var value) == true ? value : null;
}

public sealed class CustomObject
{
    public string Name { get; set; } = "";
    public int Value { get; set; }
}
