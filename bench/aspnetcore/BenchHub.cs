using Microsoft.AspNetCore.SignalR;

namespace Hubwire.Bench;

/// <summary>The bench hub, method for method as hubwire's (bench/targets/hubwire.ts).</summary>
public sealed class BenchHub(ConnectionCount count) : Hub
{
    public string Echo(string payload) => payload;

    public Task Join(string group) => Groups.AddToGroupAsync(Context.ConnectionId, group);

    public override Task OnConnectedAsync()
    {
        count.Add(1);
        return Task.CompletedTask;
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        count.Add(-1);
        return Task.CompletedTask;
    }
}

/// <summary>Open hub connections, for the bench's reports.</summary>
public sealed class ConnectionCount
{
    private int value;

    public int Value => Volatile.Read(ref value);

    public void Add(int delta) => Interlocked.Add(ref value, delta);
}
