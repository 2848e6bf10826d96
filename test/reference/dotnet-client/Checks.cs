using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Hubwire.DotnetClient;

public sealed class ComplexObject
{
    public string String { get; set; } = "";
    public int[] IntArray { get; set; } = [];
    public byte[] ByteArray { get; set; } = [];
    public Guid Guid { get; set; }
    public DateTime DateTime { get; set; }
}

public sealed class CustomObject
{
    public string Name { get; set; } = "";
    public int Value { get; set; }
}

/// <summary>The checks for one transport and protocol; each throws when the server misbehaves.</summary>
public sealed class Checks(string url, string proxyUrl, Combo combo) : IAsyncDisposable
{
    private readonly List<HubConnection> _connections = [];
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    public IEnumerable<(string Name, Func<Task> Run)> All()
    {
        if (combo.Transport == HttpTransportType.ServerSentEvents && combo.MessagePack)
        {
            // Server-Sent Events carry text only: the client must refuse MessagePack before connecting.
            yield return ("refuses a binary protocol", RefusesBinaryProtocol);
            yield break;
        }
        yield return ("invoke", Invoke);
        yield return ("send", Send);
        yield return ("handlers", Handlers);
        yield return ("stream to client: IAsyncEnumerable", StreamToClientAsyncEnumerable);
        yield return ("stream to client: ChannelReader", StreamToClientChannel);
        yield return ("stream from client: IAsyncEnumerable", StreamFromClientAsyncEnumerable);
        yield return ("stream from client: ChannelReader", StreamFromClientChannel);
        yield return ("cancellation", Cancellation);
        yield return ("client results", ClientResults);
        yield return ("groups", GroupsCheck);
        yield return ("users", Users);
        yield return ("automatic reconnect", AutomaticReconnect);
        // Only WebSockets can resume a connection (as in ASP.NET Core).
        if (combo.Transport == HttpTransportType.WebSockets) yield return ("stateful reconnect", StatefulReconnect);
        yield return ("a burst of sends", BurstOfSends);
    }

    private HubConnection Build(string baseUrl, string path, Action<IHubConnectionBuilder>? configure = null)
    {
        var builder = new HubConnectionBuilder().WithUrl(baseUrl + path, combo.Transport);
        if (combo.MessagePack) builder.AddMessagePackProtocol();
        // The fixture's objects keep their PascalCase names on the wire.
        else builder.AddJsonProtocol(o => o.PayloadSerializerOptions.PropertyNamingPolicy = null);
        configure?.Invoke(builder);
        var connection = builder.Build();
        _connections.Add(connection);
        return connection;
    }

    private async Task<HubConnection> Connect(string path)
    {
        var connection = Build(url, path);
        await connection.StartAsync();
        return connection;
    }

    private static void Expect<T>(T actual, T expected, string what)
    {
        if (!EqualityComparer<T>.Default.Equals(actual, expected)) throw new Exception($"{what}: expected {Show(expected)}, got {Show(actual)}");
    }

    private static void ExpectSequence<T>(IEnumerable<T> actual, IEnumerable<T> expected, string what)
    {
        if (!actual.SequenceEqual(expected)) throw new Exception($"{what}: expected {Show(expected)}, got {Show(actual)}");
    }

    private static string Show(object? value) => JsonSerializer.Serialize(value);

    /// <summary>A promise of the next call of a client method, with its arguments.</summary>
    private static Task<T> Next<T>(HubConnection connection, string method)
    {
        var received = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        IDisposable? subscription = null;
        subscription = connection.On<T>(method, value =>
        {
            subscription?.Dispose();
            received.TrySetResult(value);
        });
        return received.Task.WaitAsync(Wait);
    }

    private async Task RefusesBinaryProtocol()
    {
        var hub = Build(url, "/testhub");
        try
        {
            await hub.StartAsync();
        }
        catch (Exception error) when (error.Message.Contains("Binary"))
        {
            return;
        }
        throw new Exception($"connected over {combo.Name}");
    }

    /// <summary>The route of the next Received(route, message) call.</summary>
    private static Task<string> NextRoute(HubConnection connection)
    {
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        IDisposable? subscription = null;
        subscription = connection.On<string, string>("Received", (route, _) =>
        {
            subscription?.Dispose();
            received.TrySetResult(route);
        });
        return received.Task.WaitAsync(Wait);
    }

    private async Task Invoke()
    {
        var hub = await Connect("/testhub");
        Expect(await hub.InvokeAsync<string>("Echo", "hello"), "hello", "Echo");
        Expect(await hub.InvokeAsync<string>("GetActiveTransportName"), combo.Transport.ToString(), "GetActiveTransportName");
        Expect(await hub.InvokeAsync<string>("GetCallerConnectionId"), hub.ConnectionId, "GetCallerConnectionId");
        Expect(await hub.InvokeAsync<string?>("GetHeader", "x-not-sent"), null, "GetHeader of a header not sent");
        try
        {
            await hub.InvokeAsync("ThrowException", "boom");
            throw new Exception("ThrowException did not fail");
        }
        catch (HubException error)
        {
            Expect(error.Message, "An unexpected error occurred invoking 'ThrowException' on the server. InvalidOperationException: boom", "ThrowException's error");
        }
        var interop = await Connect("/interophub");
        Expect(await interop.InvokeAsync<double>("Add", 2, 3), 5.0, "Add");
    }

    private async Task Send()
    {
        var hub = await Connect("/testhub");
        var message = Next<string>(hub, "Message");
        await hub.SendAsync("InvokeWithString", "fire and forget");
        Expect(await message, "fire and forget", "Message after a send");
        var interop = await Connect("/interophub");
        await interop.SendAsync("Add", 1, 1);
        // One send and this call: the send was processed once, before it.
        Expect(await interop.InvokeAsync<int>("CallCount"), 2, "CallCount after a send");
    }

    /// <summary>
    /// Sends not awaited one by one: the client's pipe gathers them, and its transport sends what
    /// the pipe holds (up to its 1 MB bound) as one message: a WebSocket message in fragments of
    /// the pipe's segments, with hub messages across fragments, or one POST.
    /// </summary>
    private async Task BurstOfSends()
    {
        var interop = await Connect("/interophub");
        var padding = new string('x', 1000);
        var sends = Enumerable.Range(0, 3000).Select(_ => interop.SendAsync("SendToGroup", "nobody", padding)).ToArray();
        await Task.WhenAll(sends);
        Expect(await interop.InvokeAsync<int>("CallCount"), 3001, "CallCount after a burst of 3,000 sends");
    }

    private async Task Handlers()
    {
        var hub = await Connect("/testhub");
        var custom = Next<CustomObject>(hub, "CustomObject");
        await hub.InvokeAsync("SendCustomObject", new CustomObject { Name = "n", Value = 7 });
        var received = await custom;
        Expect((received.Name, received.Value), ("n", 7), "CustomObject");

        var sent = await hub.InvokeAsync<ComplexObject>("SendComplexObject");
        ExpectComplex(sent, "SendComplexObject");
        ExpectComplex(await hub.InvokeAsync<ComplexObject>("EchoComplexObject", sent), "EchoComplexObject");
    }

    private static void ExpectComplex(ComplexObject value, string what)
    {
        Expect(value.String, "hello world", $"{what}.String");
        ExpectSequence(value.IntArray, [1, 2, 3], $"{what}.IntArray");
        ExpectSequence(value.ByteArray, [(byte)1, (byte)2, (byte)3], $"{what}.ByteArray");
        Expect(value.Guid, Guid.Parse("00010203-0405-0607-0706-050403020100"), $"{what}.Guid");
        Expect(value.DateTime.ToUniversalTime(), new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc), $"{what}.DateTime");
    }

    private async Task StreamToClientAsyncEnumerable()
    {
        var hub = await Connect("/testhub");
        var items = new List<string>();
        await foreach (var item in hub.StreamAsync<string>("Stream")) items.Add(item);
        ExpectSequence(items, ["a", "b", "c"], "Stream");
        var none = 0;
        await foreach (var _ in hub.StreamAsync<int>("EmptyStream")) none++;
        Expect(none, 0, "EmptyStream items");
        try
        {
            await foreach (var _ in hub.StreamAsync<string>("StreamThrowException", "bad")) { }
            throw new Exception("StreamThrowException did not fail");
        }
        catch (HubException error)
        {
            Expect(error.Message, "An unexpected error occurred invoking 'StreamThrowException' on the server. InvalidOperationException: bad", "StreamThrowException's error");
        }
    }

    private async Task StreamToClientChannel()
    {
        var hub = await Connect("/interophub");
        var channel = await hub.StreamAsChannelAsync<int>("Counter", 5, 0);
        var items = new List<int>();
        await foreach (var item in channel.ReadAllAsync()) items.Add(item);
        ExpectSequence(items, [0, 1, 2, 3, 4], "Counter");
    }

    private static async IAsyncEnumerable<string> Letters([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var letter in new[] { "a", "b", "c" })
        {
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            yield return letter;
        }
    }

    private async Task StreamFromClientAsyncEnumerable()
    {
        var hub = await Connect("/testhub");
        Expect(await hub.InvokeAsync<string>("StreamingConcat", Letters()), "abc", "StreamingConcat");
    }

    private async Task StreamFromClientChannel()
    {
        var hub = await Connect("/interophub");
        var numbers = Channel.CreateUnbounded<double>();
        var sum = hub.InvokeAsync<double>("UploadSum", numbers.Reader);
        for (var i = 1; i <= 100; i++) await numbers.Writer.WriteAsync(i);
        numbers.Writer.Complete();
        Expect(await sum, 5050.0, "UploadSum");

        // Not UploadPair: Microsoft.AspNetCore.SignalR.Client 10.0.15 fails a second upload stream in
        // one call once the first completes (ObjectDisposedException of its shared token source),
        // against ASP.NET Core as against hubwire.
    }

    private async Task Cancellation()
    {
        var hub = await Connect("/testhub");
        var canceled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        hub.On("StreamCanceled", () => canceled.TrySetResult());
        using (var cts = new CancellationTokenSource())
        {
            var stream = hub.StreamAsync<string>("InfiniteStream", cts.Token).GetAsyncEnumerator(cts.Token);
            var moving = stream.MoveNextAsync().AsTask();
            // The server knows of the stream once an echo sent after it has come back.
            Expect(await hub.InvokeAsync<string>("Echo", "started"), "started", "Echo while streaming");
            cts.Cancel();
            try { await moving; } catch (OperationCanceledException) { }
            await canceled.Task.WaitAsync(Wait);
        }

        var interop = await Connect("/interophub");
        using var counterCts = new CancellationTokenSource();
        var seen = new List<int>();
        try
        {
            await foreach (var item in interop.StreamAsync<int>("Counter", 1000, 20, counterCts.Token))
            {
                seen.Add(item);
                if (seen.Count == 2) counterCts.Cancel();
            }
        }
        catch (OperationCanceledException) { }
        if (seen.Count < 2 || seen.Count > 100) throw new Exception($"Counter yielded {seen.Count} items around its cancellation");
        Expect(await interop.InvokeAsync<double>("Add", 1, 1), 2.0, "Add after a canceled stream");
    }

    private async Task ClientResults()
    {
        var interop = await Connect("/interophub");
        interop.On("Result", () => 42);
        Expect(await interop.InvokeAsync<double>("AskCaller"), 42.0, "AskCaller");

        var hub = await Connect("/testhub");
        using var http = new HttpClient();
        var ask = () => http.GetStringAsync($"{url}/clientresult/{hub.ConnectionId}");
        if (!(await ask()).Contains("didn't provide a result")) throw new Exception("a client without a Result handler was not reported");
        hub.On("Result", () => Task.FromResult(10));
        Expect(await ask(), "10", "/clientresult with a handler");
    }

    private async Task GroupsCheck()
    {
        var a = await Connect("/interophub");
        var b = await Connect("/interophub");
        var group = $"red-{Guid.NewGuid():N}";
        await a.InvokeAsync("AddToGroup", group);
        await b.InvokeAsync("AddToGroup", group);
        var atB = NextRoute(b);
        await a.InvokeAsync("SendToOthersInGroup", group, "hello");
        Expect(await atB, "othersInGroup", "b's route from the group");
        await b.InvokeAsync("RemoveFromGroup", group);
        var atA = NextRoute(a);
        // b left the group: what b receives next is the marker sent to it alone after the group send.
        var atBNext = NextRoute(b);
        await b.InvokeAsync("SendToGroup", group, "left");
        Expect(await atA, "group", "a's route from the group");
        await a.InvokeAsync("SendToConnection", b.ConnectionId, "marker");
        Expect(await atBNext, "connection", "b's next route after leaving the group");
    }

    private async Task Users()
    {
        var ann = await Connect("/interophub?user=dotnet-ann");
        var bob1 = await Connect("/interophub?user=dotnet-bob");
        var bob2 = await Connect("/interophub?user=dotnet-bob");
        Expect(await ann.InvokeAsync<string>("GetUserIdentifier"), "dotnet-ann", "GetUserIdentifier");
        var toBob1 = NextRoute(bob1);
        var toBob2 = NextRoute(bob2);
        await ann.InvokeAsync("SendToUser", "dotnet-bob", "hi bob");
        Expect(await toBob1, "user", "first bob connection's route");
        Expect(await toBob2, "user", "second bob connection's route");
    }

    /// <summary>
    /// Asks the driver to cut every proxied connection, and waits until it has. With
    /// <paramref name="refuseNew"/>, the driver also refuses new connections until the app prints
    /// that it is reconnecting: a long poll sent again on a fresh connection at the moment of the
    /// cut would otherwise carry the connection on as if nothing had happened.
    /// </summary>
    private async Task Cut(bool refuseNew = false)
    {
        Console.WriteLine(JsonSerializer.Serialize(new { cut = combo.Name, refuseNew }));
        if (await Console.In.ReadLineAsync() is null) throw new Exception("the driver closed stdin instead of cutting");
    }

    private async Task AutomaticReconnect()
    {
        // Attempts keep coming after the first ones, which the driver may still refuse.
        var delays = new[] { TimeSpan.Zero, TimeSpan.FromMilliseconds(200) }.Concat(Enumerable.Repeat(TimeSpan.FromSeconds(1), 20)).ToArray();
        var hub = Build(proxyUrl, "/interophub", b => b.WithAutomaticReconnect(delays));
        var reconnecting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reconnected = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        hub.Reconnecting += _ =>
        {
            Console.WriteLine(JsonSerializer.Serialize(new { reconnecting = combo.Name }));
            reconnecting.TrySetResult();
            return Task.CompletedTask;
        };
        hub.Reconnected += id => { reconnected.TrySetResult(id); return Task.CompletedTask; };
        await hub.StartAsync();
        var before = hub.ConnectionId;
        await Cut(refuseNew: true);
        await Step(reconnecting.Task, "the Reconnecting event");
        var after = await Step(reconnected.Task, "the Reconnected event");
        if (after is null || after == before) throw new Exception($"reconnected as {Show(after)} after {Show(before)}: expected a new connection");
        Expect(await hub.InvokeAsync<double>("Add", 20, 22), 42.0, "Add after reconnecting");
        Expect(await hub.InvokeAsync<int>("CallCount"), 2, "CallCount of the new connection");
    }

    /// <summary>Waits for a step of a check, and says which one when it does not come.</summary>
    private static async Task<T> Step<T>(Task<T> step, string what)
    {
        try { return await step.WaitAsync(Wait); }
        catch (TimeoutException) { throw new TimeoutException($"no {what} within {Wait.TotalSeconds} s"); }
    }

    private static async Task Step(Task step, string what)
    {
        try { await step.WaitAsync(Wait); }
        catch (TimeoutException) { throw new TimeoutException($"no {what} within {Wait.TotalSeconds} s"); }
    }

    private async Task StatefulReconnect()
    {
        var hub = Build(proxyUrl, "/interophub", b => b.WithStatefulReconnect());
        var reconnecting = false;
        hub.Reconnecting += _ => { reconnecting = true; return Task.CompletedTask; };
        await hub.StartAsync();
        var before = hub.ConnectionId;
        var items = new List<int>();
        await foreach (var item in hub.StreamAsync<int>("Counter", 20, 30))
        {
            items.Add(item);
            if (items.Count == 5) await Cut();
        }
        ExpectSequence(items, Enumerable.Range(0, 20), "Counter across the cut");
        Expect(hub.ConnectionId, before, "connection id across the cut");
        Expect(reconnecting, false, "a Reconnecting event");
        // Counter and this call, each processed once although the connection was cut.
        Expect(await hub.InvokeAsync<int>("CallCount"), 2, "CallCount after resuming");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in _connections) await connection.DisposeAsync();
    }
}
