using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;

namespace Hubwire.Reference;

/// <summary>Requires a bearer token.</summary>
[Authorize]
public sealed class AuthorizedHub : Hub
{
    public string Echo(string message) => message;

    public string? GetUserIdentifier() => Context.UserIdentifier;
}

/// <summary>A service nobody registered: the container cannot build it.</summary>
public sealed class UnregisteredService;

/// <summary>A hub whose construction always fails: its dependency cannot be resolved.</summary>
public sealed class UncreatableHub(UnregisteredService service) : Hub
{
    public UnregisteredService Service { get; } = service;

    public string Echo(string message) => message;
}

/// <summary>A raw connection: no handshake, no hub protocol; every byte comes back as it came.</summary>
public sealed class EchoConnectionHandler : ConnectionHandler
{
    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        while (true)
        {
            var result = await connection.Transport.Input.ReadAsync();
            foreach (var segment in result.Buffer) await connection.Transport.Output.WriteAsync(segment);
            connection.Transport.Input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted || result.IsCanceled) break;
        }
    }
}
