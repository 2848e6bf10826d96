using System.Reflection;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;

namespace Hubwire.Reference;

/// <summary>Routing, errors and limits that users of any SignalR server rely on (InteropHub in samples/interop-server).</summary>
public sealed class InteropHub : Hub
{
    private static readonly object CallCountKey = new();

    public Task AddToGroup(string group)
    {
        Count();
        return Groups.AddToGroupAsync(Context.ConnectionId, group);
    }

    public Task RemoveFromGroup(string group)
    {
        Count();
        return Groups.RemoveFromGroupAsync(Context.ConnectionId, group);
    }

    public Task SendToGroup(string group, object? message) => Received(Clients.Group(group), "group", message);

    public Task SendToGroups(string[] groups, object? message) => Received(Clients.Groups(groups), "groups", message);

    public Task SendToGroupExcept(string group, object? message, string[] excluded) =>
        Received(Clients.GroupExcept(group, excluded), "groupExcept", message);

    public Task SendToOthersInGroup(string group, object? message) => Received(Clients.OthersInGroup(group), "othersInGroup", message);

    public Task SendToAll(object? message) => Received(Clients.All, "all", message);

    public Task SendToOthers(object? message) => Received(Clients.Others, "others", message);

    public Task SendToAllExcept(object? message, string[] excluded) => Received(Clients.AllExcept(excluded), "allExcept", message);

    public Task SendToConnection(string connectionId, object? message) => Received(Clients.Client(connectionId), "connection", message);

    public Task SendToConnections(string[] connectionIds, object? message) => Received(Clients.Clients(connectionIds), "connections", message);

    public Task SendToUser(string userId, object? message) => Received(Clients.User(userId), "user", message);

    public Task SendToUsers(string[] userIds, object? message) => Received(Clients.Users(userIds), "users", message);

    public string? GetUserIdentifier()
    {
        Count();
        return Context.UserIdentifier;
    }

    public void ThrowHubException(string message)
    {
        Count();
        throw new HubException(message);
    }

    public double Add(double a, double b)
    {
        Count();
        return a + b;
    }

    /// <summary>
    /// Closes this connection with a Close message carrying these fields. ASP.NET Core has no public
    /// API for that (Context.Abort() sends no Close), so this writes the message on the connection's
    /// own write path, found through the caller context, then aborts.
    /// </summary>
    public async Task CloseMe(string? error, bool? allowReconnect)
    {
        Count();
        var field = Context.GetType().GetField("_connection", BindingFlags.Instance | BindingFlags.NonPublic)
            ?? throw new InvalidOperationException("this ASP.NET Core has no HubConnectionContext behind the caller context");
        var connection = (HubConnectionContext)field.GetValue(Context)!;
        await connection.WriteAsync(new CloseMessage(error, allowReconnect == true));
        connection.Abort();
    }

    public string Big(int length)
    {
        Count();
        return new string('x', length);
    }

    public async IAsyncEnumerable<int> Counter(int count, int delayMs, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Count();
        for (var i = 0; i < count; i++)
        {
            if (i > 0 && delayMs > 0) await Task.Delay(delayMs, cancellationToken);
            yield return i;
        }
    }

    public async Task<double> UploadSum(ChannelReader<double> numbers)
    {
        Count();
        var sum = 0.0;
        await foreach (var n in numbers.ReadAllAsync()) sum += n;
        return sum;
    }

    public async Task<string> UploadPair(ChannelReader<string> first, ChannelReader<string> second)
    {
        Count();
        var text = "";
        await foreach (var item in first.ReadAllAsync()) text += item;
        text += "|";
        await foreach (var item in second.ReadAllAsync()) text += item;
        return text;
    }

    /// <summary>Awaits a result from its own caller inside the invocation.</summary>
    public Task<double> AskCaller()
    {
        Count();
        return Clients.Caller.InvokeAsync<double>("Result", Context.ConnectionAborted);
    }

    public int CallCount() => Count();

    private Task Received(IClientProxy clients, string route, object? message)
    {
        Count();
        return clients.SendAsync("Received", route, message);
    }

    /// <summary>Counts this connection's processed invocations (CallCount included).</summary>
    private int Count()
    {
        var calls = (Context.Items.TryGetValue(CallCountKey, out var value) ? (int)value! : 0) + 1;
        Context.Items[CallCountKey] = calls;
        return calls;
    }
}
